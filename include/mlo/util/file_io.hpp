#pragma once

#include <filesystem>
#include <mlo/util/error.hpp>
#include <string>
#include <string_view>

namespace mlo::util {

namespace fs = std::filesystem;

// Owns a file descriptor; closes it on destruction.
class UniqueFd {
  public:
    UniqueFd() = default;
    explicit UniqueFd(int fd) : m_fd(fd) {}
    UniqueFd(UniqueFd&& other) noexcept : m_fd(other.release()) {}
    UniqueFd& operator=(UniqueFd&& other) noexcept;
    UniqueFd(const UniqueFd&) = delete;
    UniqueFd& operator=(const UniqueFd&) = delete;
    ~UniqueFd();

    int get() const { return m_fd; }
    explicit operator bool() const { return m_fd >= 0; }
    int release();

  private:
    int m_fd = -1;
};

// Reads a whole file. Errors name the path.
Result<std::string> read_file(const fs::path& path);

// A whole file mapped read-only (and its pages mapped in at once), for reading large files of our
// own without copying them into memory first. The file must not be truncated while mapped.
class MappedFile {
  public:
    // Errors name the path. An empty file maps to an empty view.
    static Result<MappedFile> open(const fs::path& path);
    MappedFile(MappedFile&& other) noexcept;
    MappedFile& operator=(MappedFile&&) = delete;
    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;
    ~MappedFile();

    std::string_view bytes() const { return {static_cast<const char*>(m_data), m_size}; }

  private:
    MappedFile(void* data, size_t size) : m_data(data), m_size(size) {}
    void* m_data = nullptr;
    size_t m_size = 0;
};

// Writes all bytes to fd, retrying on short writes and EINTR.
Status write_all(int fd, std::string_view bytes, const fs::path& for_error);

// Replaces `path` with `bytes` atomically: temp file beside the target, fsync, rename, fsync the
// directory. A reader sees the old or the new content, never a mix; a crash leaves at most a
// stray temp file named `.<name>.tmp.<random>`, never a half-written target.
Status write_file_atomic(const fs::path& path, std::string_view bytes, unsigned mode = 0644);

// Creates `path` holding `bytes`, readable by its owner only from its first byte and given its
// name only when complete (for private keys and secrets). Never replaces a file: returns false,
// leaving the existing file alone, when `path` exists (another process may have just made it).
Result<bool> write_new_private_file(const fs::path& path, std::string_view bytes);

// fsyncs a directory so that a rename inside it survives a crash.
Status fsync_directory(const fs::path& dir);

// A unique temporary name beside `path` (same directory, so rename is atomic).
fs::path temp_path_beside(const fs::path& path);

// git's lockfile protocol for small mutable files: create `<file>.lock` with O_EXCL, write into it,
// commit() renames it over `<file>`. Destroying an uncommitted LockFile removes the lock.
class LockFile {
  public:
    // Fails with ErrorCode::precondition if another process holds the lock.
    static Result<LockFile> acquire(const fs::path& target);
    LockFile(LockFile&& other) noexcept;
    LockFile& operator=(LockFile&&) = delete;
    ~LockFile();

    Status write(std::string_view bytes);
    Status commit();

  private:
    LockFile(fs::path target, UniqueFd fd) : m_target(std::move(target)), m_fd(std::move(fd)) {}
    fs::path lock_path() const;

    fs::path m_target;
    UniqueFd m_fd;
    bool m_done = false;
};

// A whole-file advisory lock (flock) held for the object's lifetime. Shared holders run together;
// an exclusive holder runs alone. Blocks until granted, or fails at once with `wait = false`.
class FileLock {
  public:
    enum class Mode { shared, exclusive };
    static Result<FileLock> acquire(const fs::path& path, Mode mode, bool wait = true);
    FileLock(FileLock&&) noexcept = default;
    FileLock& operator=(FileLock&&) noexcept = default;
    ~FileLock() = default;

  private:
    explicit FileLock(UniqueFd fd) : m_fd(std::move(fd)) {}
    UniqueFd m_fd;
};

} // namespace mlo::util
