// The object store writes every object the same way, whatever its size:
//
//   1. open an anonymous file in `.mlo/tmp/` (O_TMPFILE: it has no name, so if the process dies
//      the kernel frees it and nothing is left behind);
//   2. read the source, hash it and put the same bytes into the anonymous file — the disk is read
//      once. Small files go through one buffer. Large files are copied by the kernel
//      (copy_file_range, page cache to page cache) on a second thread while this thread hashes the
//      same cached pages, so the copy costs almost nothing next to SHA-256 (~2 GB/s with SHA-NI);
//      the file's stat data is compared before and after so a file modified meanwhile is refused.
//      Where copy_file_range is unavailable, a reader/writer pipeline over user buffers is used;
//   3. when the id is known, give the file its name with linkat(). linkat fails with EEXIST when
//      the object is already there, so an existing object is never rewritten and two processes
//      storing the same content race harmlessly.
//
// On filesystems without O_TMPFILE, step 1 creates a named temp file and step 3 uses
// renameat2(RENAME_NOREPLACE); a crash can then leave a stray file in `.mlo/tmp/` which `mlo gc`
// removes, but never a partial object.
#include <algorithm>
#include <array>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <dirent.h>
#include <fcntl.h>
#include <mlo/hash/sha256.hpp>
#include <mlo/store/object_store.hpp>
#include <mlo/util/file_io.hpp>
#include <mutex>
#include <optional>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace mlo::store {

namespace {

constexpr size_t k_chunk_size = 1 << 20;         // 1 MiB
constexpr size_t k_pipeline_threshold = 8 << 20; // files above 8 MiB use the writer thread
constexpr size_t k_pipeline_buffers = 8;

using util::UniqueFd;

// An object file being written: anonymous when possible, else a named temp file.
struct PendingObject {
    UniqueFd fd;
    fs::path named_temp; // empty for an anonymous file
};

Result<PendingObject> open_pending(const fs::path& tmp_dir) {
    int fd = ::open(tmp_dir.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0444);
    if (fd >= 0)
        return PendingObject{UniqueFd(fd), {}};
    if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
        return fail(system_error("cannot create a temp file in " + tmp_dir.string(), errno));
    fs::path temp = util::temp_path_beside(tmp_dir / "object");
    fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
    if (fd < 0)
        return fail(system_error("cannot create " + temp.string(), errno));
    return PendingObject{UniqueFd(fd), temp};
}

void discard(PendingObject& pending) {
    pending.fd = UniqueFd();
    if (!pending.named_temp.empty())
        ::unlink(pending.named_temp.c_str());
}

int ensure_parent(const fs::path& target) {
    if (::mkdir(target.parent_path().c_str(), 0755) != 0 && errno != EEXIST)
        return errno;
    return 0;
}

// Gives the pending file its final name. Returns true if it became the object, false if an
// identical object was already there (then the pending file is discarded).
Result<bool> publish(PendingObject& pending, const fs::path& target) {
    for (int attempt = 0; attempt < 2; ++attempt) {
        int rc;
        if (pending.named_temp.empty()) {
            std::string proc_path = "/proc/self/fd/" + std::to_string(pending.fd.get());
            rc = ::linkat(AT_FDCWD, proc_path.c_str(), AT_FDCWD, target.c_str(), AT_SYMLINK_FOLLOW);
        } else {
            rc =
                ::renameat2(AT_FDCWD, pending.named_temp.c_str(), AT_FDCWD, target.c_str(), RENAME_NOREPLACE);
        }
        if (rc == 0) {
            if (!pending.named_temp.empty())
                pending.named_temp.clear();
            pending.fd = UniqueFd();
            return true;
        }
        if (errno == EEXIST) {
            discard(pending);
            return false;
        }
        if (errno == ENOENT && attempt == 0) {
            if (int err = ensure_parent(target); err != 0)
                return fail(system_error("cannot create " + target.parent_path().string(), err));
            continue;
        }
        int err = errno;
        discard(pending);
        return fail(system_error("cannot store object " + target.string(), err));
    }
    discard(pending);
    return fail(ErrorCode::internal, "cannot store object " + target.string());
}

ssize_t read_retrying(int fd, char* buffer, size_t size) {
    for (;;) {
        ssize_t n = ::read(fd, buffer, size);
        if (n >= 0 || errno != EINTR)
            return n;
    }
}

// Reads `size` bytes at most, all of them unless EOF comes first.
ssize_t read_full(int fd, char* buffer, size_t size) {
    size_t done = 0;
    while (done < size) {
        ssize_t n = read_retrying(fd, buffer + done, size - done);
        if (n < 0)
            return n;
        if (n == 0)
            break;
        done += static_cast<size_t>(n);
    }
    return static_cast<ssize_t>(done);
}

// Copies `in` to `out` while hashing; a writer thread overlaps the writes with the hashing.
Result<uint64_t> copy_pipelined(int in, int out, hash::Sha256& hasher, const fs::path& source) {
    struct Chunk {
        std::vector<char> data;
        size_t size = 0;
    };
    std::vector<Chunk> chunks(k_pipeline_buffers);
    for (auto& chunk : chunks)
        chunk.data.resize(k_chunk_size);

    std::mutex mutex;
    std::condition_variable changed;
    std::deque<Chunk*> free_chunks, full_chunks;
    for (auto& chunk : chunks)
        free_chunks.push_back(&chunk);
    bool reading_done = false;
    int write_errno = 0;

    std::thread writer([&] {
        for (;;) {
            Chunk* chunk;
            {
                std::unique_lock lock(mutex);
                changed.wait(lock, [&] { return !full_chunks.empty() || reading_done; });
                if (full_chunks.empty())
                    return;
                chunk = full_chunks.front();
                full_chunks.pop_front();
            }
            int err = 0;
            if (write_errno == 0) {
                auto ok = util::write_all(out, std::string_view(chunk->data.data(), chunk->size), {});
                if (!ok)
                    err = errno ? errno : EIO;
            }
            std::lock_guard lock(mutex);
            if (err != 0)
                write_errno = err;
            free_chunks.push_back(chunk);
            changed.notify_all();
        }
    });

    uint64_t total = 0;
    int read_errno = 0;
    for (;;) {
        Chunk* chunk;
        {
            std::unique_lock lock(mutex);
            changed.wait(lock, [&] { return !free_chunks.empty(); });
            chunk = free_chunks.front();
            free_chunks.pop_front();
            if (write_errno != 0)
                break;
        }
        ssize_t n = read_full(in, chunk->data.data(), k_chunk_size);
        if (n < 0) {
            read_errno = errno;
            break;
        }
        if (n == 0)
            break;
        chunk->size = static_cast<size_t>(n);
        hasher.update(chunk->data.data(), chunk->size);
        total += chunk->size;
        std::lock_guard lock(mutex);
        full_chunks.push_back(chunk);
        changed.notify_all();
    }
    {
        std::lock_guard lock(mutex);
        reading_done = true;
        changed.notify_all();
    }
    writer.join();
    if (read_errno != 0)
        return fail(system_error("cannot read " + source.string(), read_errno));
    if (write_errno != 0)
        return fail(system_error("cannot write to the store while storing " + source.string(), write_errno));
    return total;
}

// Large files: the kernel copies the bytes (copy_file_range: page cache to page cache, no trip
// through a user buffer) on a second thread while this thread reads and hashes them. Both read
// the same cached pages, so the disk is read once. Because the copy and the hash read the file
// separately, the file's size, mtime and ctime are compared before and after: a file modified
// meanwhile is refused, as with the pipelined copy. Returns nullopt when the filesystem cannot do
// copy_file_range (the caller then uses copy_pipelined).
Result<std::optional<uint64_t>> copy_in_kernel(int in, int out, hash::Sha256& hasher, const fs::path& source,
                                               const struct stat& before) {
    uint64_t total = static_cast<uint64_t>(before.st_size);
    // Probe with the first chunk, so an unsupported filesystem falls back before anything is hashed.
    loff_t in_offset = 0, out_offset = 0;
    ssize_t first =
        ::copy_file_range(in, &in_offset, out, &out_offset, std::min<uint64_t>(total, k_chunk_size), 0);
    if (first < 0) {
        if (errno == EXDEV || errno == ENOSYS || errno == EOPNOTSUPP || errno == EINVAL) {
            if (::ftruncate(out, 0) != 0 || ::lseek(out, 0, SEEK_SET) != 0)
                return fail(system_error("cannot reset a temp file in the store", errno));
            return std::optional<uint64_t>();
        }
        return fail(system_error("cannot copy " + source.string() + " into the store", errno));
    }
    int copy_errno = 0;
    std::thread copier([&] {
        while (static_cast<uint64_t>(in_offset) < total) {
            ssize_t n = ::copy_file_range(in, &in_offset, out, &out_offset, 64 << 20, 0);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0) {
                copy_errno = n < 0 ? errno : EIO; // 0: the file shrank
                return;
            }
        }
    });
    static thread_local std::vector<char> buffer(k_chunk_size);
    uint64_t hashed = 0;
    int read_errno = 0;
    for (;;) {
        ssize_t n = ::pread(in, buffer.data(), buffer.size(), static_cast<off_t>(hashed));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            read_errno = errno;
            break;
        }
        if (n == 0)
            break;
        hasher.update(buffer.data(), static_cast<size_t>(n));
        hashed += static_cast<uint64_t>(n);
    }
    copier.join();
    if (read_errno != 0)
        return fail(system_error("cannot read " + source.string(), read_errno));
    if (copy_errno != 0)
        return fail(system_error("cannot copy " + source.string() + " into the store", copy_errno));
    struct stat after;
    if (::fstat(in, &after) != 0)
        return fail(system_error("cannot stat " + source.string(), errno));
    bool unchanged = after.st_size == before.st_size && after.st_mtim.tv_sec == before.st_mtim.tv_sec &&
                     after.st_mtim.tv_nsec == before.st_mtim.tv_nsec &&
                     after.st_ctim.tv_sec == before.st_ctim.tv_sec &&
                     after.st_ctim.tv_nsec == before.st_ctim.tv_nsec;
    if (!unchanged || hashed != total)
        return fail(ErrorCode::input, "cannot store " + source.string() + ": it changed while being read");
    return std::optional<uint64_t>(hashed);
}

Result<uint64_t> copy_simple(int in, int out, hash::Sha256& hasher, const fs::path& source) {
    static thread_local std::vector<char> buffer(k_chunk_size);
    uint64_t total = 0;
    for (;;) {
        ssize_t n = read_retrying(in, buffer.data(), buffer.size());
        if (n < 0)
            return fail(system_error("cannot read " + source.string(), errno));
        if (n == 0)
            return total;
        hasher.update(buffer.data(), static_cast<size_t>(n));
        MLO_TRY_CTX(util::write_all(out, std::string_view(buffer.data(), static_cast<size_t>(n)), {}),
                    "writing to the store while storing " + source.string());
        total += static_cast<uint64_t>(n);
    }
}

} // namespace

ObjectStore::ObjectStore(fs::path mlo_dir)
    : m_mlo_dir(std::move(mlo_dir)), m_objects_dir(m_mlo_dir / "objects" / "sha256") {
    for (auto& fd : m_prefix_fds)
        fd.store(-2); // not opened yet
}

ObjectStore::ObjectStore(ObjectStore&& other) noexcept
    : m_mlo_dir(std::move(other.m_mlo_dir)), m_objects_dir(std::move(other.m_objects_dir)) {
    for (size_t i = 0; i < m_prefix_fds.size(); ++i)
        m_prefix_fds[i].store(other.m_prefix_fds[i].exchange(-2));
}

ObjectStore::~ObjectStore() {
    for (auto& fd : m_prefix_fds)
        if (int value = fd.load(); value >= 0)
            ::close(value);
}

int ObjectStore::prefix_dir(uint8_t prefix) const {
    int fd = m_prefix_fds[prefix].load();
    if (fd >= 0)
        return fd;
    static constexpr char k_digits[] = "0123456789abcdef";
    char name[3] = {k_digits[prefix >> 4], k_digits[prefix & 0xf], 0};
    int opened = ::open((m_objects_dir / name).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (opened < 0)
        return -1; // absent now; may be created later, so not remembered
    int expected = fd;
    if (!m_prefix_fds[prefix].compare_exchange_strong(expected, opened)) {
        ::close(opened); // another thread won
        return expected;
    }
    return opened;
}

Status ObjectStore::create() const {
    std::error_code ec;
    fs::create_directories(m_objects_dir, ec);
    if (!ec)
        fs::create_directories(tmp_dir(), ec);
    if (ec)
        return fail(ErrorCode::input,
                    "cannot create the store in " + m_mlo_dir.string() + ": " + ec.message());
    return {};
}

fs::path ObjectStore::path_of(const ObjectId& id) const {
    std::string hex = id.hex();
    return m_objects_dir / hex.substr(0, 2) / hex.substr(2);
}

bool ObjectStore::contains(const ObjectId& id) const {
    int dir = prefix_dir(id.bytes()[0]);
    if (dir < 0)
        return false;
    std::string rest = id.hex().substr(2);
    struct stat st;
    return ::fstatat(dir, rest.c_str(), &st, 0) == 0;
}

std::vector<bool> ObjectStore::contains_all(const std::vector<ObjectId>& ids) const {
    std::vector<bool> present(ids.size(), false);
    constexpr size_t k_listing_threshold = 512; // below this, lookups are cheap enough
    if (ids.size() < k_listing_threshold) {
        for (size_t i = 0; i < ids.size(); ++i)
            present[i] = contains(ids[i]);
        return present;
    }
    // Group by prefix directory; list a directory only if it is not much bigger than the number of
    // ids looked up in it, judged from the size of the first directory listed.
    std::array<std::vector<size_t>, 256> by_prefix;
    for (size_t i = 0; i < ids.size(); ++i)
        by_prefix[ids[i].bytes()[0]].push_back(i);
    static constexpr char k_digits[] = "0123456789abcdef";
    std::optional<size_t> entries_per_dir;
    for (size_t prefix = 0; prefix < 256; ++prefix) {
        const auto& wanted = by_prefix[prefix];
        if (wanted.empty())
            continue;
        if (entries_per_dir && *entries_per_dir > 8 * wanted.size()) {
            for (size_t i : wanted)
                present[i] = contains(ids[i]);
            continue;
        }
        char name[3] = {k_digits[prefix >> 4], k_digits[prefix & 0xf], 0};
        std::vector<std::string> names;
        if (DIR* dir = ::opendir((m_objects_dir / name).c_str())) {
            while (dirent* entry = ::readdir(dir))
                if (entry->d_name[0] != '.')
                    names.emplace_back(entry->d_name);
            ::closedir(dir);
        }
        if (!entries_per_dir)
            entries_per_dir = names.size();
        std::sort(names.begin(), names.end());
        for (size_t i : wanted)
            present[i] = std::binary_search(names.begin(), names.end(), ids[i].hex().substr(2));
    }
    return present;
}

Result<StoredObject> ObjectStore::put_file(const fs::path& source) const {
    UniqueFd in(::open(source.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (!in)
        return fail(system_error("cannot read " + source.string(), errno));
    struct stat before;
    if (::fstat(in.get(), &before) != 0)
        return fail(system_error("cannot stat " + source.string(), errno));
    if (!S_ISREG(before.st_mode))
        return fail(ErrorCode::input, "cannot store " + source.string() + ": not a regular file");
    ::posix_fadvise(in.get(), 0, 0, POSIX_FADV_SEQUENTIAL);

    auto pending = open_pending(tmp_dir());
    if (!pending)
        return fail(std::move(pending).error());
    hash::Sha256 hasher;
    Result<uint64_t> size = uint64_t{0};
    if (static_cast<uint64_t>(before.st_size) >= k_pipeline_threshold) {
        auto in_kernel = copy_in_kernel(in.get(), pending->fd.get(), hasher, source, before);
        if (!in_kernel)
            size = fail(std::move(in_kernel).error());
        else if (*in_kernel)
            size = **in_kernel;
        else
            size = copy_pipelined(in.get(), pending->fd.get(), hasher, source);
    } else {
        size = copy_simple(in.get(), pending->fd.get(), hasher, source);
    }
    if (!size) {
        discard(*pending);
        return fail(std::move(size).error());
    }
    if (*size != static_cast<uint64_t>(before.st_size)) {
        discard(*pending);
        return fail(ErrorCode::input, "cannot store " + source.string() + ": it changed while being read");
    }
    ObjectId id = hasher.finish();
    auto published = publish(*pending, path_of(id));
    if (!published)
        return fail(std::move(published).error());
    return StoredObject{id, *size, *published};
}

Result<StoredObject> ObjectStore::put_bytes(std::string_view bytes) const {
    ObjectId id = hash::sha256_of(bytes);
    if (contains(id))
        return StoredObject{id, bytes.size(), false};
    auto pending = open_pending(tmp_dir());
    if (!pending)
        return fail(std::move(pending).error());
    if (auto ok = util::write_all(pending->fd.get(), bytes, tmp_dir()); !ok) {
        discard(*pending);
        return fail(std::move(ok).error().context("writing to the store"));
    }
    auto published = publish(*pending, path_of(id));
    if (!published)
        return fail(std::move(published).error());
    return StoredObject{id, bytes.size(), *published};
}

Result<std::string> ObjectStore::read_bytes(const ObjectId& id) const {
    auto bytes = util::read_file(path_of(id));
    if (!bytes) {
        if (!contains(id))
            return fail(ErrorCode::input, "missing object " + id.str(),
                        "fetch it from a remote (mlo pull) or re-track the data");
        return fail(std::move(bytes).error());
    }
    if (hash::sha256_of(*bytes) != id)
        return fail(ErrorCode::failure, "corrupt object " + id.str() + " (" + path_of(id).string() + ")",
                    "run 'mlo fsck' to list every damaged object");
    return bytes;
}

Result<ObjectId> ObjectStore::rehash(const ObjectId& id) const {
    fs::path path = path_of(id);
    UniqueFd in(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!in) {
        if (errno == ENOENT)
            return fail(ErrorCode::input, "missing object " + id.str());
        return fail(system_error("cannot read " + path.string(), errno));
    }
    ::posix_fadvise(in.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
    static thread_local std::vector<char> buffer(k_chunk_size);
    hash::Sha256 hasher;
    for (;;) {
        ssize_t n = read_retrying(in.get(), buffer.data(), buffer.size());
        if (n < 0)
            return fail(system_error("cannot read " + path.string(), errno));
        if (n == 0)
            break;
        hasher.update(buffer.data(), static_cast<size_t>(n));
    }
    return hasher.finish();
}

Status ObjectStore::for_each(const std::function<void(const ObjectId&, uint64_t)>& visit,
                             const std::function<void(const fs::path&)>& stray) const {
    std::error_code ec;
    if (!fs::exists(m_objects_dir, ec))
        return {};
    for (auto it = fs::directory_iterator(m_objects_dir, ec); !ec && it != fs::directory_iterator();
         it.increment(ec)) {
        const auto& prefix_entry = *it;
        std::string prefix = prefix_entry.path().filename().string();
        if (!prefix_entry.is_directory() || prefix.size() != 2) {
            if (stray)
                stray(prefix_entry.path());
            continue;
        }
        std::error_code inner_ec;
        for (auto obj = fs::directory_iterator(prefix_entry.path(), inner_ec);
             !inner_ec && obj != fs::directory_iterator(); obj.increment(inner_ec)) {
            auto id = ObjectId::parse_hex(prefix + obj->path().filename().string());
            if (!id || !obj->is_regular_file()) {
                if (stray)
                    stray(obj->path());
                continue;
            }
            std::error_code size_ec;
            uint64_t size = obj->file_size(size_ec);
            visit(*id, size_ec ? 0 : size);
        }
        if (inner_ec)
            return fail(ErrorCode::internal,
                        "cannot list " + prefix_entry.path().string() + ": " + inner_ec.message());
    }
    if (ec)
        return fail(ErrorCode::internal, "cannot list " + m_objects_dir.string() + ": " + ec.message());
    return {};
}

Status ObjectStore::remove(const ObjectId& id) const {
    if (::unlink(path_of(id).c_str()) != 0 && errno != ENOENT)
        return fail(system_error("cannot remove object " + id.str(), errno));
    return {};
}

namespace {

// Receives a download into an anonymous file (see the essay at the top): a killed process leaves
// nothing, a wrong byte leaves nothing.
class PendingIncomingObject : public IncomingObject {
  public:
    PendingIncomingObject(PendingObject pending, ObjectId expected, fs::path target)
        : m_pending(std::move(pending)), m_expected(expected), m_target(std::move(target)) {}
    ~PendingIncomingObject() override {
        if (m_pending.fd)
            discard(m_pending);
    }

    Status write(std::string_view bytes) override {
        m_hasher.update(bytes);
        m_size += bytes.size();
        return util::write_all(m_pending.fd.get(), bytes, m_target);
    }

    Status reset() override {
        if (::ftruncate(m_pending.fd.get(), 0) != 0 || ::lseek(m_pending.fd.get(), 0, SEEK_SET) < 0)
            return fail(system_error("cannot rewind a download temp file", errno));
        m_hasher = hash::Sha256();
        m_size = 0;
        return {};
    }

    Result<StoredObject> commit() override {
        ObjectId actual = m_hasher.finish();
        if (actual != m_expected) {
            discard(m_pending);
            return fail(ErrorCode::failure,
                        "corrupt download: " + m_expected.str() + " arrived as bytes hashing to " +
                            actual.str(),
                        "nothing was stored; the copy on the remote is damaged (re-push it from a "
                        "store that has it intact)");
        }
        auto published = publish(m_pending, m_target);
        if (!published)
            return fail(std::move(published).error());
        return StoredObject{m_expected, m_size, *published};
    }

  private:
    PendingObject m_pending;
    ObjectId m_expected;
    fs::path m_target;
    hash::Sha256 m_hasher;
    uint64_t m_size = 0;
};

} // namespace

Result<std::unique_ptr<IncomingObject>> ObjectStore::receive(const ObjectId& expected) const {
    auto pending = open_pending(tmp_dir());
    if (!pending)
        return fail(std::move(pending).error());
    return std::unique_ptr<IncomingObject>(
        std::make_unique<PendingIncomingObject>(std::move(*pending), expected, path_of(expected)));
}

} // namespace mlo::store
