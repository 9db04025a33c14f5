#include <cerrno>
#include <dirent.h>
#include <fcntl.h>
#include <mlo/hash/sha256.hpp>
#include <mlo/remote/directory_remote.hpp>
#include <mlo/util/file_io.hpp>
#include <sys/stat.h>
#include <unistd.h>

namespace mlo::remote {

namespace {

constexpr size_t k_chunk = 1 << 20;

std::string remote_label(const std::string& name) {
    return "remote '" + name + "'";
}

Status make_dirs(const fs::path& dir) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec)
        return fail(ErrorCode::failure, "cannot create " + dir.string() + ": " + ec.message());
    return {};
}

} // namespace

bool is_safe_ref_path(std::string_view path) {
    if (path.empty())
        return false;
    size_t start = 0;
    while (start <= path.size()) {
        size_t end = path.find('/', start);
        if (end == std::string_view::npos)
            end = path.size();
        std::string_view segment = path.substr(start, end - start);
        if (segment.empty() || segment == "." || segment == "..")
            return false;
        for (char c : segment)
            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                  c == '_' || c == '.'))
                return false;
        start = end + 1;
    }
    return true;
}

DirectoryRemote::DirectoryRemote(std::string name, fs::path root, unsigned jobs)
    : Remote(std::move(name), jobs), m_root(std::move(root)) {}

fs::path DirectoryRemote::object_path(const ObjectId& id) const {
    return m_root / object_key(id);
}

Result<std::vector<ObjectId>> DirectoryRemote::list_objects() {
    std::vector<ObjectId> ids;
    fs::path objects = m_root / "objects" / "sha256";
    if (!fs::is_directory(m_root))
        return fail(ErrorCode::input, remote_label(name()) + ": " + m_root.string() + " is not a directory",
                    "create it, or mount the share it lives on");
    static const char* k_digits = "0123456789abcdef";
    for (int prefix = 0; prefix < 256; ++prefix) {
        char dir_name[3] = {k_digits[prefix >> 4], k_digits[prefix & 0xf], 0};
        DIR* dir = ::opendir((objects / dir_name).c_str());
        if (dir == nullptr)
            continue;
        while (dirent* entry = ::readdir(dir)) {
            // Names that are not objects (temp files, junk) are skipped, never trusted.
            if (auto id = ObjectId::parse_hex(std::string(dir_name) + entry->d_name))
                ids.push_back(*id);
        }
        ::closedir(dir);
    }
    return ids;
}

Result<bool> DirectoryRemote::has_object(const ObjectId& id) {
    struct stat st;
    if (::stat(object_path(id).c_str(), &st) == 0)
        return S_ISREG(st.st_mode);
    if (errno == ENOENT)
        return false;
    return fail(system_error(remote_label(name()) + ": cannot look up " + id.str(), errno));
}

Status DirectoryRemote::put_object(const ObjectId& id, const fs::path& source, uint64_t size) {
    fs::path target = object_path(id);
    fs::path tmp_dir = m_root / "tmp";
    MLO_TRY(make_dirs(tmp_dir));
    MLO_TRY(make_dirs(target.parent_path()));
    util::UniqueFd in(::open(source.c_str(), O_RDONLY | O_CLOEXEC));
    if (!in)
        return fail(system_error("cannot read " + source.string(), errno));
    fs::path temp = util::temp_path_beside(tmp_dir / id.hex());
    util::UniqueFd out(::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444));
    if (!out)
        return fail(system_error(remote_label(name()) + ": cannot create " + temp.string(), errno));
    auto cleanup = [&] { ::unlink(temp.c_str()); };
    hash::Sha256 hasher;
    std::string buffer(k_chunk, '\0');
    uint64_t copied = 0;
    for (;;) {
        ssize_t n = ::read(in.get(), buffer.data(), buffer.size());
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            cleanup();
            return fail(system_error("cannot read " + source.string(), errno));
        }
        if (n == 0)
            break;
        std::string_view chunk(buffer.data(), static_cast<size_t>(n));
        hasher.update(chunk);
        copied += chunk.size();
        if (auto ok = util::write_all(out.get(), chunk, temp); !ok) {
            cleanup();
            return fail(std::move(ok).error().context(remote_label(name())));
        }
    }
    // The local object is checked on the way out: a damaged one must not take the name of the
    // content it was supposed to hold.
    if (hasher.finish() != id || copied != size) {
        cleanup();
        return fail(ErrorCode::failure, "local object " + id.str() + " is corrupt; not pushed",
                    "run 'mlo fsck' to list every damaged object");
    }
    if (::fsync(out.get()) != 0) {
        cleanup();
        return fail(system_error(remote_label(name()) + ": cannot sync " + temp.string(), errno));
    }
    out = util::UniqueFd();
    if (::rename(temp.c_str(), target.c_str()) != 0) {
        int err = errno;
        cleanup();
        return fail(system_error(remote_label(name()) + ": cannot publish " + target.string(), err));
    }
    return util::fsync_directory(target.parent_path());
}

Status DirectoryRemote::get_object(const ObjectId& id, const ByteSink& sink) {
    fs::path path = object_path(id);
    util::UniqueFd in(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!in) {
        if (errno == ENOENT)
            return fail(ErrorCode::input, "object " + id.str() + " is not on " + remote_label(name()));
        return fail(system_error(remote_label(name()) + ": cannot read " + path.string(), errno));
    }
    std::string buffer(k_chunk, '\0');
    for (;;) {
        ssize_t n = ::read(in.get(), buffer.data(), buffer.size());
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return fail(system_error(remote_label(name()) + ": cannot read " + path.string(), errno));
        if (n == 0)
            return {};
        MLO_TRY(sink.write(std::string_view(buffer.data(), static_cast<size_t>(n))));
    }
}

Result<std::vector<std::string>> DirectoryRemote::list_refs(const std::string& dir) {
    if (!is_safe_ref_path(dir))
        return fail(ErrorCode::internal, "unsafe ref directory '" + dir + "'");
    std::vector<std::string> names;
    DIR* handle = ::opendir((m_root / "refs" / dir).c_str());
    if (handle == nullptr)
        return names; // no refs pushed yet
    while (dirent* entry = ::readdir(handle)) {
        std::string entry_name = entry->d_name;
        if (entry_name[0] != '.' && is_safe_ref_path(entry_name))
            names.push_back(entry_name);
    }
    ::closedir(handle);
    return names;
}

Result<std::optional<std::string>> DirectoryRemote::get_ref(const std::string& path) {
    if (!is_safe_ref_path(path))
        return fail(ErrorCode::internal, "unsafe ref path '" + path + "'");
    fs::path file = m_root / "refs" / path;
    if (!fs::exists(file))
        return std::optional<std::string>();
    auto text = util::read_file(file);
    if (!text)
        return fail(std::move(text).error().context(remote_label(name())));
    return std::optional<std::string>(std::move(*text));
}

Status DirectoryRemote::put_ref(const std::string& path, std::string_view bytes) {
    if (!is_safe_ref_path(path))
        return fail(ErrorCode::internal, "unsafe ref path '" + path + "'");
    fs::path file = m_root / "refs" / path;
    MLO_TRY(make_dirs(file.parent_path()));
    return util::write_file_atomic(file, bytes);
}

} // namespace mlo::remote
