#include <cerrno>
#include <fcntl.h>
#include <linux/fs.h>
#include <mlo/hash/sha256.hpp>
#include <mlo/store/linker.hpp>
#include <mlo/util/file_io.hpp>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace mlo::store {

using util::UniqueFd;

namespace {
Status rename_into_place(const fs::path& temp, const fs::path& dest) {
    if (::rename(temp.c_str(), dest.c_str()) != 0) {
        int err = errno;
        ::unlink(temp.c_str());
        return fail(system_error("cannot write " + dest.string(), err));
    }
    return {};
}
} // namespace

std::string describe_link_mode(LinkMode mode, const fs::path& dir) {
    if (mode != LinkMode::auto_)
        return to_string(mode);
    UniqueFd source(::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
    UniqueFd target(::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
    if (!source || !target)
        return "auto";
    bool reflinks = ::write(source.get(), "x", 1) == 1 && ::ioctl(target.get(), FICLONE, source.get()) == 0;
    return reflinks ? "auto (reflink)" : "auto (copy: this filesystem has no reflinks)";
}

std::string Linker::effective_mode() const {
    if (m_mode == LinkMode::auto_)
        return m_reflink_works == 1 ? "auto (reflink)" : m_reflink_works == 0 ? "auto (copy)" : "auto";
    return to_string(m_mode);
}

// Copies (or reflinks) the object to `temp`, checking its hash. For a reflink the object is read
// once to verify it, since the clone shares its blocks.
Status Linker::copy_verified(const hash::ObjectId& id, const fs::path& temp, bool executable) const {
    fs::path source = m_store.path_of(id);
    UniqueFd in(::open(source.c_str(), O_RDONLY | O_CLOEXEC));
    if (!in) {
        if (errno == ENOENT)
            return fail(ErrorCode::input, "missing object " + id.str(),
                        "fetch it from a remote (mlo pull) or re-track the data");
        return fail(system_error("cannot read " + source.string(), errno));
    }
    unsigned mode = executable ? 0755 : 0644;
    UniqueFd out(::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode));
    if (!out)
        return fail(system_error("cannot create " + temp.string(), errno));
    auto abandon = [&](Error error) {
        ::unlink(temp.c_str());
        return fail(std::move(error));
    };
    bool try_reflink = (m_mode == LinkMode::reflink) || (m_mode == LinkMode::auto_ && m_reflink_works != 0);
    bool cloned = false;
    if (try_reflink) {
        if (::ioctl(out.get(), FICLONE, in.get()) == 0) {
            cloned = true;
            m_reflink_works = 1;
        } else if (m_mode == LinkMode::reflink) {
            return abandon(system_error("cannot reflink " + temp.string() + " (link: reflink)", errno));
        } else {
            m_reflink_works = 0;
        }
    }
    ::posix_fadvise(in.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
    static thread_local std::vector<char> buffer(1 << 20);
    hash::Sha256 hasher;
    for (;;) {
        ssize_t n = ::read(in.get(), buffer.data(), buffer.size());
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return abandon(system_error("cannot read " + source.string(), errno));
        if (n == 0)
            break;
        hasher.update(buffer.data(), static_cast<size_t>(n));
        if (!cloned) {
            if (auto ok =
                    util::write_all(out.get(), std::string_view(buffer.data(), static_cast<size_t>(n)), temp);
                !ok)
                return abandon(std::move(ok).error());
        }
    }
    if (hasher.finish() != id)
        return abandon(
            Error{ErrorCode::failure,
                  "corrupt object " + id.str() + " (" + source.string() + "): refusing to check it out",
                  "run 'mlo fsck' to list every damaged object; fetch a good copy with 'mlo pull'"});
    if (::fchmod(out.get(), mode) != 0)
        return abandon(system_error("cannot chmod " + temp.string(), errno));
    return {};
}

Status Linker::place_file(const hash::ObjectId& id, const fs::path& dest, bool executable) const {
    fs::path temp = util::temp_path_beside(dest);
    // An executable file is copied even in the linking modes: the shared object has one mode,
    // 0444, so a link would lose the executable bit and show as modified forever.
    if ((m_mode == LinkMode::hardlink || m_mode == LinkMode::symlink) && !executable) {
        auto actual = m_store.rehash(id);
        if (!actual)
            return fail(std::move(actual).error());
        if (*actual != id)
            return fail(ErrorCode::failure,
                        "corrupt object " + id.str() + " (" + m_store.path_of(id).string() +
                            "): refusing to check it out",
                        "run 'mlo fsck' to list every damaged object");
        return link_object(id, dest);
    }
    MLO_TRY(copy_verified(id, temp, executable));
    return rename_into_place(temp, dest);
}

// Links `dest` to the object without re-reading it (the caller verified or just wrote it).
Status Linker::link_object(const hash::ObjectId& id, const fs::path& dest) const {
    fs::path temp = util::temp_path_beside(dest);
    {
        fs::path source = fs::absolute(m_store.path_of(id));
        int rc = m_mode == LinkMode::hardlink ? ::link(source.c_str(), temp.c_str())
                                              : ::symlink(source.c_str(), temp.c_str());
        if (rc != 0)
            return fail(
                system_error("cannot link " + dest.string() + " (link: " + to_string(m_mode) + ")", errno));
        return rename_into_place(temp, dest);
    }
}

Status Linker::place_symlink(const std::string& target, const fs::path& dest) const {
    fs::path temp = util::temp_path_beside(dest);
    if (::symlink(target.c_str(), temp.c_str()) != 0)
        return fail(system_error("cannot create symlink " + dest.string(), errno));
    return rename_into_place(temp, dest);
}

Status Linker::link_tracked_file(const hash::ObjectId& id, const fs::path& dest) const {
    if (m_mode != LinkMode::hardlink && m_mode != LinkMode::symlink)
        return {};
    // Executable files stay as they are (see place_file): a link to the 0444 object would drop
    // the executable bit that the pointer records.
    struct stat st;
    if (::lstat(dest.c_str(), &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & S_IXUSR) != 0)
        return {};
    return link_object(id, dest);
}

} // namespace mlo::store
