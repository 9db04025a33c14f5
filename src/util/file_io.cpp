#include <algorithm>
#include <cerrno>
#include <cstdio> // renameat2
#include <fcntl.h>
#include <mlo/util/file_io.hpp>
#include <random>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utility>

namespace mlo::util {

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
    if (this != &other) {
        if (m_fd >= 0)
            ::close(m_fd);
        m_fd = other.release();
    }
    return *this;
}

UniqueFd::~UniqueFd() {
    if (m_fd >= 0)
        ::close(m_fd);
}

int UniqueFd::release() {
    int fd = m_fd;
    m_fd = -1;
    return fd;
}

Result<std::string> read_file(const fs::path& path) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd)
        return fail(system_error("cannot read " + path.string(), errno));
    // Read straight into a string of the file's size: growing it 64 KiB at a time copied a large
    // file several times over and faulted in every intermediate buffer (18 ms for 14 MB). The
    // size is only a hint: a file that grows meanwhile is read to its end all the same.
    struct stat st {};
    size_t expected = ::fstat(fd.get(), &st) == 0 && st.st_size > 0 ? static_cast<size_t>(st.st_size) : 0;
    std::string out(expected + 1, '\0'); // one spare byte, so reaching the end needs no extra read
    size_t used = 0;
    for (;;) {
        if (used == out.size())
            out.resize(out.size() + std::max<size_t>(out.size() / 2, 65536));
        ssize_t n = ::read(fd.get(), out.data() + used, out.size() - used);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return fail(system_error("cannot read " + path.string(), errno));
        }
        if (n == 0)
            break;
        used += static_cast<size_t>(n);
    }
    out.resize(used);
    return out;
}

Result<MappedFile> MappedFile::open(const fs::path& path) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    struct stat st {};
    if (!fd || ::fstat(fd.get(), &st) != 0)
        return fail(system_error("cannot read " + path.string(), errno));
    if (st.st_size <= 0)
        return MappedFile(nullptr, 0);
    // MAP_POPULATE maps the cached pages in one call instead of a fault per 4 KiB page as they are
    // first read; the mapping stays valid after the descriptor is closed.
    auto size = static_cast<size_t>(st.st_size);
    void* data = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd.get(), 0);
    if (data == MAP_FAILED)
        return fail(system_error("cannot map " + path.string(), errno));
    return MappedFile(data, size);
}

MappedFile::MappedFile(MappedFile&& other) noexcept
    : m_data(std::exchange(other.m_data, nullptr)), m_size(std::exchange(other.m_size, 0)) {}

MappedFile::~MappedFile() {
    if (m_data != nullptr)
        ::munmap(m_data, m_size);
}

Status write_all(int fd, std::string_view bytes, const fs::path& for_error) {
    while (!bytes.empty()) {
        ssize_t n = ::write(fd, bytes.data(), bytes.size());
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return fail(system_error("cannot write " + for_error.string(), errno));
        }
        bytes.remove_prefix(static_cast<size_t>(n));
    }
    return {};
}

fs::path temp_path_beside(const fs::path& path) {
    thread_local std::mt19937_64 rng{std::random_device{}() ^ static_cast<unsigned long>(::getpid())};
    static constexpr char k_alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    std::string suffix;
    for (int i = 0; i < 10; ++i)
        suffix += k_alphabet[rng() % (sizeof k_alphabet - 1)];
    return path.parent_path() / ("." + path.filename().string() + ".tmp." + suffix);
}

Status fsync_directory(const fs::path& dir) {
    UniqueFd fd(::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd)
        return fail(system_error("cannot open directory " + dir.string(), errno));
    if (::fsync(fd.get()) != 0 && errno != EINVAL)
        return fail(system_error("cannot sync directory " + dir.string(), errno));
    return {};
}

Status write_file_atomic(const fs::path& path, std::string_view bytes, unsigned mode) {
    fs::path temp = temp_path_beside(path);
    UniqueFd fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode));
    if (!fd)
        return fail(system_error("cannot create " + temp.string(), errno));
    auto cleanup_on_error = [&](Error error) {
        ::unlink(temp.c_str());
        return fail(std::move(error));
    };
    if (auto ok = write_all(fd.get(), bytes, temp); !ok)
        return cleanup_on_error(ok.error());
    if (::fchmod(fd.get(), mode) != 0) // O_CREAT's mode is filtered by the umask; be exact
        return cleanup_on_error(system_error("cannot chmod " + temp.string(), errno));
    if (::fsync(fd.get()) != 0)
        return cleanup_on_error(system_error("cannot sync " + temp.string(), errno));
    fd = UniqueFd();
    if (::rename(temp.c_str(), path.c_str()) != 0)
        return cleanup_on_error(system_error("cannot replace " + path.string(), errno));
    return fsync_directory(path.parent_path());
}

Result<LockFile> LockFile::acquire(const fs::path& target) {
    fs::path lock = target;
    lock += ".lock";
    UniqueFd fd(::open(lock.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
    if (!fd) {
        if (errno == EEXIST)
            return fail(ErrorCode::precondition,
                        "cannot lock " + target.string() + ": " + lock.string() + " exists",
                        "another mlo process is running; if none is, remove " + lock.string());
        return fail(system_error("cannot create " + lock.string(), errno));
    }
    return LockFile(target, std::move(fd));
}

LockFile::LockFile(LockFile&& other) noexcept
    : m_target(std::move(other.m_target)), m_fd(std::move(other.m_fd)), m_done(other.m_done) {
    other.m_done = true;
}

LockFile::~LockFile() {
    if (!m_done)
        ::unlink(lock_path().c_str());
}

fs::path LockFile::lock_path() const {
    fs::path lock = m_target;
    lock += ".lock";
    return lock;
}

Status LockFile::write(std::string_view bytes) {
    return write_all(m_fd.get(), bytes, lock_path());
}

Status LockFile::commit() {
    if (::fsync(m_fd.get()) != 0)
        return fail(system_error("cannot sync " + lock_path().string(), errno));
    m_fd = UniqueFd();
    if (::rename(lock_path().c_str(), m_target.c_str()) != 0)
        return fail(system_error("cannot replace " + m_target.string(), errno));
    m_done = true;
    return fsync_directory(m_target.parent_path());
}

Result<FileLock> FileLock::acquire(const fs::path& path, Mode mode, bool wait) {
    UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
    if (!fd)
        return fail(system_error("cannot open lock " + path.string(), errno));
    int op = (mode == Mode::shared ? LOCK_SH : LOCK_EX) | (wait ? 0 : LOCK_NB);
    while (::flock(fd.get(), op) != 0) {
        if (errno == EINTR)
            continue;
        if (errno == EWOULDBLOCK)
            return fail(ErrorCode::precondition,
                        "the store is locked by another mlo process (" + path.string() + ")",
                        "wait for it to finish and try again");
        return fail(system_error("cannot lock " + path.string(), errno));
    }
    return FileLock(std::move(fd));
}

Result<bool> write_new_private_file(const fs::path& path, std::string_view bytes) {
    fs::path temp = temp_path_beside(path);
    // O_CREAT's mode can only be narrowed by the umask: nobody else can ever open the file.
    UniqueFd fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!fd)
        return fail(system_error("cannot create " + temp.string(), errno));
    auto remove_temp = [&](Error error) {
        ::unlink(temp.c_str());
        return fail(std::move(error));
    };
    if (auto ok = write_all(fd.get(), bytes, temp); !ok)
        return remove_temp(ok.error());
    if (::fchmod(fd.get(), 0600) != 0)
        return remove_temp(system_error("cannot chmod " + temp.string(), errno));
    if (::fsync(fd.get()) != 0)
        return remove_temp(system_error("cannot sync " + temp.string(), errno));
    fd = UniqueFd();

    // link() and renameat2(RENAME_NOREPLACE) both fail with EEXIST instead of replacing the target;
    // the second serves filesystems without hard links.
    if (::link(temp.c_str(), path.c_str()) != 0) {
        int error = errno;
        if (error == EPERM || error == EOPNOTSUPP || error == EMLINK) {
            if (::renameat2(AT_FDCWD, temp.c_str(), AT_FDCWD, path.c_str(), RENAME_NOREPLACE) == 0) {
                MLO_TRY(fsync_directory(path.parent_path()));
                return true;
            }
            error = errno;
        }
        if (error == EEXIST) {
            ::unlink(temp.c_str());
            return false;
        }
        return remove_temp(system_error("cannot create " + path.string(), error));
    }
    ::unlink(temp.c_str());
    MLO_TRY(fsync_directory(path.parent_path()));
    return true;
}

} // namespace mlo::util
