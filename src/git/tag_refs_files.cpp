// Reading tag refs without libgit2. Loading libgit2 (dlopen of it and its dependencies, then
// git_libgit2_init) costs about 15 ms, more than everything else a cached registry query does, so the
// check "are the tags still what the cache saw?" reads the files backend directly:
//
// - loose refs: one walk of <common>/refs/tags with openat/readdir (d_type saves a stat per entry) and
//   one read of at most 64 bytes per file: a ref file is "<40 hex>\n" or "ref: <target>\n";
// - packed-refs: one read of the whole file, parsed line by line as git and libgit2 do.
//
// The result must equal what libgit2's iterator reports (Repository::tag_refs), because the cache is
// rebuilt through libgit2: a loose ref shadows the packed one of the same name, a symbolic loose ref is
// not a tag (but still shadows), `*.lock` files are ref updates in progress. Where libgit2 silently skips
// a loose ref file it cannot parse, this reader reports it, naming the file: a cache check must not
// decide "unchanged" on a file it did not understand.

#include <algorithm>
#include <cerrno>
#include <dirent.h>
#include <fcntl.h>
#include <map>
#include <memory>
#include <mlo/git/tag_refs_files.hpp>
#include <mlo/util/file_io.hpp>
#include <string_view>
#include <sys/stat.h>
#include <unistd.h>

namespace mlo::git {

namespace {

constexpr std::size_t k_hex_size = 40;
constexpr std::string_view k_tags_prefix = "refs/tags/";

bool is_hex_digit(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// The object id at the start of `text`, lowercased, when `text` starts with 40 hex digits.
std::optional<std::string> parse_oid(std::string_view text) {
    if (text.size() < k_hex_size)
        return std::nullopt;
    std::string oid(text.substr(0, k_hex_size));
    for (char& c : oid) {
        if (!is_hex_digit(c))
            return std::nullopt;
        if (c >= 'A' && c <= 'F')
            c = static_cast<char>(c - 'A' + 'a');
    }
    return oid;
}

bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

// A line quoted in an error message, shortened so a binary file does not flood the terminal.
std::string quote_line(std::string_view line) {
    constexpr std::size_t k_max = 80;
    std::string out = "'" + std::string(line.substr(0, k_max)) + "'";
    if (line.size() > k_max)
        out += "...";
    return out;
}

// What a ref name maps to: an object id, or nullopt for a symbolic ref (not a tag, but it shadows a
// packed ref of the same name).
using RefMap = std::map<std::string, std::optional<std::string>>;

struct DirCloser {
    void operator()(DIR* dir) const noexcept { ::closedir(dir); }
};
using DirPtr = std::unique_ptr<DIR, DirCloser>;

// Reads the first bytes of a loose ref file (enough for "<40 hex><space>" or "ref:"). nullopt when the
// file vanished meanwhile (a concurrent delete or pack), which is not an error.
// `dir` names the directory for error messages only: building a path per file would cost more than the
// read.
Result<std::optional<std::string>> read_ref_head(int dir_fd, const char* name, const fs::path& dir) {
    util::UniqueFd fd(::openat(dir_fd, name, O_RDONLY | O_CLOEXEC));
    if (!fd) {
        if (errno == ENOENT)
            return std::optional<std::string>();
        return fail(system_error("cannot read " + (dir / name).string(), errno));
    }
    // One read() for an ordinary ref: stop once "<40 hex><one more byte>" is in, or at the end of the file.
    char buffer[64];
    std::size_t size = 0;
    while (size < k_hex_size + 1) {
        ssize_t n = ::read(fd.get(), buffer + size, sizeof buffer - size);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return fail(system_error("cannot read " + (dir / name).string(), errno));
        }
        if (n == 0)
            break;
        size += static_cast<std::size_t>(n);
    }
    return std::optional<std::string>(std::string(buffer, size));
}

// Adds the loose ref in file `name` of the directory `dir_fd` (ref name `ref_name`) to `refs`.
Status add_loose_ref(int dir_fd, const char* name, std::string ref_name, const fs::path& dir, RefMap& refs) {
    auto head = read_ref_head(dir_fd, name, dir);
    if (!head)
        return fail(std::move(head).error());
    if (!*head)
        return {};
    std::string_view text = **head;
    if (text.substr(0, 4) == "ref:") {
        refs.insert_or_assign(std::move(ref_name), std::nullopt);
        return {};
    }
    // As git and libgit2 read it: 40 hex digits, then the end of the file or whitespace.
    auto oid = parse_oid(text);
    if (!oid || (text.size() > k_hex_size && !is_space(text[k_hex_size]))) {
        std::string_view line = text.substr(0, text.find('\n'));
        return fail(ErrorCode::input, (dir / name).string() + ": malformed ref " + quote_line(line) +
                                          ", expected an object id");
    }
    refs.insert_or_assign(std::move(ref_name), std::move(*oid));
    return {};
}

// Walks the directory `name` of `parent_fd` (whose refs are named `prefix` + file name) recursively.
// A directory that vanished meanwhile is skipped; at the top it means there are no loose tags.
Status walk_loose(int parent_fd, const char* name, const std::string& prefix, const fs::path& path,
                  RefMap& refs) {
    int fd = ::openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            return {};
        return fail(system_error("cannot list " + path.string(), errno));
    }
    DirPtr dir(::fdopendir(fd));
    if (!dir) {
        int saved = errno;
        ::close(fd);
        return fail(system_error("cannot list " + path.string(), saved));
    }
    for (;;) {
        errno = 0;
        const dirent* entry = ::readdir(dir.get());
        if (entry == nullptr) {
            if (errno != 0)
                return fail(system_error("cannot list " + path.string(), errno));
            break;
        }
        std::string_view entry_name = entry->d_name;
        if (entry_name == "." || entry_name == "..")
            continue;
        bool is_dir = entry->d_type == DT_DIR;
        bool is_file = entry->d_type == DT_REG;
        if (entry->d_type == DT_UNKNOWN || entry->d_type == DT_LNK) {
            // A symlink to a file is read through; a symlink to a directory is not descended into, so a
            // link cycle cannot recurse forever.
            struct stat st {};
            if (::fstatat(::dirfd(dir.get()), entry->d_name, &st, 0) != 0) {
                if (errno == ENOENT)
                    continue; // deleted meanwhile, or a dangling symlink
                return fail(system_error("cannot read " + (path / entry->d_name).string(), errno));
            }
            is_dir = S_ISDIR(st.st_mode) && entry->d_type == DT_UNKNOWN;
            is_file = S_ISREG(st.st_mode);
        }
        std::string ref_name = prefix + entry->d_name;
        if (is_dir) {
            MLO_TRY(
                walk_loose(::dirfd(dir.get()), entry->d_name, ref_name + "/", path / entry->d_name, refs));
        } else if (is_file) {
            if (entry_name.size() >= 5 && entry_name.substr(entry_name.size() - 5) == ".lock")
                continue; // an update in progress; git and libgit2 ignore these
            MLO_TRY(add_loose_ref(::dirfd(dir.get()), entry->d_name, std::move(ref_name), path, refs));
        }
    }
    return {};
}

// Adds the tags of packed-refs to `refs`. A missing file means nothing is packed.
Status add_packed_refs(const fs::path& path, RefMap& refs) {
    util::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) {
        if (errno == ENOENT)
            return {};
        return fail(system_error("cannot read " + path.string(), errno));
    }
    std::string content;
    struct stat st {};
    if (::fstat(fd.get(), &st) == 0 && st.st_size > 0)
        content.reserve(static_cast<std::size_t>(st.st_size));
    char buffer[65536];
    for (;;) {
        ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return fail(system_error("cannot read " + path.string(), errno));
        }
        if (n == 0)
            break;
        content.append(buffer, static_cast<std::size_t>(n));
    }

    std::string_view text = content;
    std::size_t line_number = 0;
    while (!text.empty()) {
        std::size_t end = text.find('\n');
        std::string_view line = text.substr(0, end);
        text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
        ++line_number;
        if (!line.empty() && line.back() == '\r')
            line.remove_suffix(1);
        auto malformed = [&] {
            return fail(ErrorCode::input, path.string() + ": line " + std::to_string(line_number) +
                                              " is malformed: " + quote_line(line));
        };
        if (!line.empty() && line.front() == '#')
            continue; // the "# pack-refs with: ..." header
        if (!line.empty() && line.front() == '^') {
            // The peeled id of the ref above; the tag's own id is what the ref points at.
            if (!parse_oid(line.substr(1)))
                return malformed();
            continue;
        }
        auto oid = parse_oid(line);
        if (!oid || line.size() < k_hex_size + 2 || line[k_hex_size] != ' ')
            return malformed();
        std::string_view name = line.substr(k_hex_size + 1);
        if (name.substr(0, k_tags_prefix.size()) != k_tags_prefix)
            continue;
        name.remove_prefix(k_tags_prefix.size());
        refs.insert_or_assign(std::string(name), std::move(*oid));
    }
    return {};
}

// Reads a file holding one path (a `.git` file's "gitdir: X", a `commondir` file), without the trailing
// newline.
Result<std::string> read_path_file(const fs::path& path) {
    auto content = util::read_file(path);
    if (!content)
        return fail(std::move(content).error());
    std::string text = std::move(*content);
    while (!text.empty() && is_space(text.back()))
        text.pop_back();
    return text;
}

bool path_exists(const fs::path& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0;
}

// The git directory a `.git` file names.
Result<fs::path> follow_gitfile(const fs::path& gitfile) {
    auto text = read_path_file(gitfile);
    if (!text)
        return fail(std::move(text).error());
    constexpr std::string_view k_prefix = "gitdir:";
    std::string_view value = *text;
    if (value.substr(0, k_prefix.size()) != k_prefix)
        return fail(ErrorCode::input, gitfile.string() + ": not a git link (expected 'gitdir: <path>')");
    value.remove_prefix(k_prefix.size());
    while (!value.empty() && is_space(value.front()))
        value.remove_prefix(1);
    if (value.empty())
        return fail(ErrorCode::input, gitfile.string() + ": not a git link (expected 'gitdir: <path>')");
    fs::path git_dir(value);
    if (git_dir.is_relative())
        git_dir = gitfile.parent_path() / git_dir;
    if (!path_exists(git_dir / "HEAD"))
        return fail(ErrorCode::input,
                    gitfile.string() + ": points at " + git_dir.string() + ", which is not a git directory");
    return git_dir;
}

} // namespace

Result<std::optional<fs::path>> find_common_dir(const fs::path& path) {
    std::error_code ec;
    fs::path absolute = fs::absolute(path, ec);
    // Symlinks resolved first, as libgit2 does, so ".." means the physical parent.
    fs::path dir = ec ? fs::path() : fs::weakly_canonical(absolute, ec);
    if (ec)
        return fail(system_error("cannot resolve " + path.string(), ec.value()));
    if (!dir.has_filename() && dir.has_relative_path())
        dir = dir.parent_path(); // "/a/b/" -> "/a/b"

    // Like Repository::discover (libgit2 without GIT_REPOSITORY_OPEN_CROSS_FS), the search stops where
    // the filesystem changes.
    std::optional<dev_t> device;
    std::optional<fs::path> git_dir;
    for (;;) {
        struct stat st {};
        if (::stat(dir.c_str(), &st) == 0) {
            if (!device)
                device = st.st_dev;
            else if (st.st_dev != *device)
                return std::optional<fs::path>();
        }
        fs::path dot_git = dir / ".git";
        if (::stat(dot_git.c_str(), &st) == 0) {
            if (S_ISDIR(st.st_mode) && path_exists(dot_git / "HEAD")) {
                git_dir = dot_git;
                break;
            }
            if (S_ISREG(st.st_mode)) {
                auto linked = follow_gitfile(dot_git);
                if (!linked)
                    return fail(std::move(linked).error());
                git_dir = std::move(*linked);
                break;
            }
            // A `.git` directory without HEAD is not a repository; git keeps looking upwards too.
        }
        fs::path parent = dir.parent_path();
        if (parent == dir)
            return std::optional<fs::path>();
        dir = std::move(parent);
    }

    fs::path common = *git_dir;
    fs::path commondir_file = *git_dir / "commondir";
    if (path_exists(commondir_file)) {
        auto text = read_path_file(commondir_file);
        if (!text)
            return fail(std::move(text).error());
        fs::path target(*text);
        common = target.is_relative() ? *git_dir / target : target;
    }
    fs::path resolved = fs::canonical(common, ec);
    if (ec)
        return fail(system_error("cannot resolve the git directory " + common.string(), ec.value()));
    return std::optional<fs::path>(std::move(resolved));
}

Result<std::vector<TagRef>> read_tag_refs_files(const fs::path& common_dir) {
    RefMap refs;
    // Packed first, so that loose refs (the newer state) replace them.
    MLO_TRY(add_packed_refs(common_dir / "packed-refs", refs));
    MLO_TRY(walk_loose(AT_FDCWD, (common_dir / "refs/tags").c_str(), "", common_dir / "refs/tags", refs));
    std::vector<TagRef> tags;
    tags.reserve(refs.size());
    // std::map orders std::string keys bytewise (char_traits<char> compares as unsigned char), the same
    // order as Repository::tag_refs().
    for (auto& [name, oid] : refs) {
        if (oid)
            tags.push_back(TagRef{name, std::move(*oid)});
    }
    return tags;
}

} // namespace mlo::git
