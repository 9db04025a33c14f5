// Scanning a workspace tree: walk, hash in parallel, build manifests bottom-up.
//
// The walk is single-threaded and cheap (readdir + lstat); it records every directory level and
// every file. Hashing is the expensive part, so files are handed to one worker per core through
// an atomic index (util::parallel_for), in walk order so that disk reads stay local; a single
// huge file already uses two threads inside ObjectStore::put_file.
// When every file's id is known, manifests are built from the deepest directory up, because a
// directory's entry needs its subdirectories' manifest ids.
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <dirent.h>
#include <fcntl.h>
#include <mlo/hash/sha256.hpp>
#include <mlo/store/tree_scanner.hpp>
#include <mlo/util/file_io.hpp>
#include <mlo/util/parallel.hpp>
#include <mutex>
#include <optional>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

namespace mlo::store {

namespace {

struct DirNode {
    std::string rel;                // relative to the scan root; "" for the root
    std::vector<size_t> subdirs;    // indexes into the node list
    std::vector<size_t> files;      // indexes into the file list
    std::vector<std::string> names; // entry names, parallel to subdirs then files (see build)
};

struct WalkState {
    fs::path root_abs;
    std::vector<DirNode> dirs;
    std::vector<ScannedFile> files;
    std::vector<FileStat> stats;
    std::vector<std::string> errors;
};

std::string join(const std::string& dir, const std::string& name) {
    return dir.empty() ? name : dir + "/" + name;
}

Status walk(WalkState& state, size_t node_index) {
    std::string rel = state.dirs[node_index].rel;
    std::string abs = rel.empty() ? state.root_abs.string() : (state.root_abs / rel).string();
    DIR* dir = ::opendir(abs.c_str());
    if (dir == nullptr)
        return fail(system_error("cannot read directory " + abs, errno));
    // Entries are stat'ed relative to the open directory: one name lookup each instead of the whole
    // path, which matters when a no-op status stats every file of a large tree.
    struct DirCloser {
        DIR* dir;
        ~DirCloser() { ::closedir(dir); }
    } closer{dir};
    std::vector<std::string> names;
    while (dirent* entry = ::readdir(dir)) {
        std::string_view name = entry->d_name;
        if (name == "." || name == "..")
            continue;
        names.emplace_back(name);
    }
    std::sort(names.begin(), names.end());
    for (const auto& name : names) {
        std::string child_rel = join(rel, name);
        if (!is_safe_component(name)) {
            state.errors.push_back("unusable file name (not valid UTF-8): " + abs + "/" + name);
            continue;
        }
        struct stat raw;
        if (::fstatat(::dirfd(dir), name.c_str(), &raw, AT_SYMLINK_NOFOLLOW) != 0)
            return fail(system_error("cannot stat " + abs + "/" + name, errno));
        if (S_ISDIR(raw.st_mode)) {
            DirNode child;
            child.rel = child_rel;
            state.dirs.push_back(std::move(child));
            size_t child_index = state.dirs.size() - 1;
            state.dirs[node_index].subdirs.push_back(child_index);
            MLO_TRY(walk(state, child_index));
        } else if (S_ISREG(raw.st_mode) || S_ISLNK(raw.st_mode)) {
            FileStat st = file_stat_from(raw);
            ScannedFile file;
            file.path = std::move(child_rel);
            file.kind = S_ISLNK(raw.st_mode) ? EntryKind::symlink : EntryKind::file;
            file.executable = S_ISREG(raw.st_mode) && st.executable;
            file.size = S_ISREG(raw.st_mode) ? st.size : 0;
            state.files.push_back(std::move(file));
            state.stats.push_back(st);
            state.dirs[node_index].files.push_back(state.files.size() - 1);
        } else {
            state.errors.push_back("cannot track special file (socket, FIFO or device): " + abs + "/" + name);
        }
    }
    return {};
}

// The object a workspace symlink stands for, when it is one of the links the `symlink` link mode
// puts in the workspace (Linker::link_object: an absolute path to `.mlo/objects/sha256/xx/yyy`).
// Such a link is the tracked file itself, not a symlink recorded in the data: without this,
// `status` called every linked file modified and re-tracking replaced the data by its links.
std::optional<hash::ObjectId> store_link_target(const ObjectStore& store, const std::string& target) {
    fs::path link(target);
    if (!link.is_absolute())
        return std::nullopt;
    auto id = hash::ObjectId::parse_hex(link.parent_path().filename().string() + link.filename().string());
    if (!id || fs::absolute(store.path_of(*id)).string() != target)
        return std::nullopt;
    return *id;
}

// Fills `file` from a link into the store (see store_link_target). When storing, the object must
// be present: a pointer to content nobody has would be a lie.
Status scan_store_link(const ScanOptions& options, const fs::path& abs, const hash::ObjectId& id,
                       ScannedFile& file) {
    struct stat st;
    bool present = ::stat(abs.c_str(), &st) == 0 && S_ISREG(st.st_mode);
    if (!present && options.store)
        return fail(ErrorCode::input,
                    "cannot track " + abs.string() + ": it links to " + id.str() +
                        ", which is not in the store",
                    "restore the data with 'mlo checkout --force' or replace the link by the file");
    file.kind = EntryKind::file;
    file.executable = false; // objects are read-only, mode 0444; executable files are copied
    file.size = present ? static_cast<uint64_t>(st.st_size) : 0;
    file.id = id;
    file.target.clear();
    return {};
}

// Hashes (and stores) one file, consulting the stat cache first.
// `deferred`, when given, lets a stat-cache hit skip the check that its object is in the store: the
// caller checks all such files at once (ObjectStore::contains_all) and hashes the missing again.
Status hash_one(const ObjectStore& store, StatCache& cache, const ScanOptions& options, const fs::path& abs,
                const std::string& cache_key, const FileStat& stat, ScannedFile& file, bool& was_hashed,
                bool* deferred = nullptr) {
    was_hashed = false;
    if (file.kind == EntryKind::symlink) {
        std::string target(4096, '\0');
        ssize_t n = ::readlink(abs.c_str(), target.data(), target.size());
        if (n < 0)
            return fail(system_error("cannot read symlink " + abs.string(), errno));
        target.resize(static_cast<size_t>(n));
        if (auto linked = store_link_target(store, target))
            return scan_store_link(options, abs, *linked, file);
        if (options.store) {
            auto stored = store.put_bytes(target);
            if (!stored)
                return fail(std::move(stored).error());
            file.id = stored->id;
        } else {
            file.id = hash::sha256_of(target);
        }
        file.size = 0; // a link's size would count its target text as data
        file.target = std::move(target);
        return {};
    }
    if (auto cached = cache.lookup(cache_key, stat)) {
        if (!options.store || (deferred != nullptr) || store.contains(*cached)) {
            file.id = *cached;
            if (deferred != nullptr && options.store)
                *deferred = true;
            return {};
        }
    }
    was_hashed = true;
    if (options.store) {
        auto stored = store.put_file(abs);
        if (!stored)
            return fail(std::move(stored).error());
        file.id = stored->id;
    } else {
        auto bytes_id = [&]() -> Result<hash::ObjectId> {
            // Hash without storing: status and diff must not grow the store.
            auto fd = ::open(abs.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
            if (fd < 0)
                return fail(system_error("cannot read " + abs.string(), errno));
            util::UniqueFd guard(fd);
            ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
            static thread_local std::vector<char> buffer(1 << 20);
            hash::Sha256 hasher;
            for (;;) {
                ssize_t n = ::read(fd, buffer.data(), buffer.size());
                if (n < 0 && errno == EINTR)
                    continue;
                if (n < 0)
                    return fail(system_error("cannot read " + abs.string(), errno));
                if (n == 0)
                    break;
                hasher.update(buffer.data(), static_cast<size_t>(n));
            }
            return hasher.finish();
        }();
        if (!bytes_id)
            return fail(std::move(bytes_id).error());
        file.id = *bytes_id;
    }
    cache.record(cache_key, stat, file.id);
    return {};
}

Status hash_all(const ObjectStore& store, StatCache& cache, const ScanOptions& options, WalkState& state,
                const std::string& cache_prefix, uint64_t& hashed_count) {
    std::atomic<uint64_t> hashed{0};
    if (options.progress) {
        uint64_t bytes = 0;
        for (const auto& f : state.files)
            bytes += f.size;
        options.progress->begin(options.store ? "storing" : "hashing", state.files.size(), bytes);
    }
    std::vector<char> deferred(state.files.size(), 0);
    auto status = util::parallel_for(state.files.size(), options.threads, [&](size_t i) -> Status {
        ScannedFile& file = state.files[i];
        bool was_hashed = false;
        bool is_deferred = false;
        MLO_TRY(hash_one(store, cache, options, state.root_abs / file.path, join(cache_prefix, file.path),
                         state.stats[i], file, was_hashed, &is_deferred));
        deferred[i] = is_deferred ? 1 : 0;
        if (was_hashed)
            hashed.fetch_add(1);
        if (options.progress)
            options.progress->advance(1, file.size);
        return {};
    });
    if (options.progress)
        options.progress->end();
    MLO_TRY(status);
    // Files whose id came from the stat cache: their objects must be in the store (they may have
    // been removed by hand); checked together, and the missing ones stored again.
    std::vector<size_t> check;
    std::vector<hash::ObjectId> ids;
    for (size_t i = 0; i < deferred.size(); ++i)
        if (deferred[i]) {
            check.push_back(i);
            ids.push_back(state.files[i].id);
        }
    auto present = store.contains_all(ids);
    for (size_t k = 0; k < check.size(); ++k) {
        if (present[k])
            continue;
        ScannedFile& file = state.files[check[k]];
        auto stored = store.put_file(state.root_abs / file.path);
        if (!stored)
            return fail(std::move(stored).error());
        if (stored->id != file.id) // changed since the cache entry: record the new id
            cache.record(join(cache_prefix, file.path), state.stats[check[k]], stored->id);
        file.id = stored->id;
        hashed.fetch_add(1);
    }
    hashed_count = hashed.load();
    return {};
}

// Builds the manifest of dirs[index] (after its subdirectories) and returns its entry.
Result<TreeEntry> build_manifest(const ObjectStore& store, const ScanOptions& options, WalkState& state,
                                 size_t index, ScannedTree& out) {
    const DirNode node = state.dirs[index];
    TreeManifest manifest;
    TreeEntry self;
    self.kind = EntryKind::directory;
    for (size_t child : node.subdirs) {
        auto entry = build_manifest(store, options, state, child, out);
        if (!entry)
            return entry;
        self.size += entry->size;
        self.files += entry->files;
        manifest.entries.push_back(std::move(*entry));
    }
    for (size_t file_index : node.files) {
        const ScannedFile& file = state.files[file_index];
        TreeEntry entry;
        entry.name =
            file.path.substr(file.path.rfind('/') == std::string::npos ? 0 : file.path.rfind('/') + 1);
        entry.kind = file.kind;
        entry.executable = file.executable;
        entry.size = file.size;
        entry.id = file.id;
        entry.target = file.target;
        self.size += entry.size;
        self.files += 1;
        manifest.entries.push_back(std::move(entry));
    }
    if (manifest.entries.empty() && !node.rel.empty())
        out.empty_dirs.push_back(node.rel);
    MLO_TRY(manifest.normalize());
    std::string bytes = manifest.canonical();
    if (options.store) {
        auto stored = store.put_bytes(bytes);
        if (!stored)
            return fail(std::move(stored).error());
        self.id = stored->id;
    } else {
        self.id = hash::sha256_of(bytes);
    }
    out.manifests.push_back(std::move(bytes));
    self.name = node.rel.substr(node.rel.rfind('/') == std::string::npos ? 0 : node.rel.rfind('/') + 1);
    return self;
}

} // namespace

Result<ScannedTree> scan_tree(const ObjectStore& store, StatCache& cache, const fs::path& project_root,
                              const std::string& rel_path, const ScanOptions& options) {
    fs::path abs = project_root / rel_path;
    struct stat raw;
    if (::lstat(abs.c_str(), &raw) != 0)
        return fail(system_error("cannot track " + rel_path, errno));
    ScannedTree out;
    std::string name = fs::path(rel_path).filename().string();
    if (S_ISLNK(raw.st_mode)) {
        // A file checked out in the `symlink` link mode is a link into the store: it is that file.
        std::string target(4096, '\0');
        ssize_t n = ::readlink(abs.c_str(), target.data(), target.size());
        target.resize(n > 0 ? static_cast<size_t>(n) : 0);
        auto linked = store_link_target(store, target);
        if (!linked)
            return fail(ErrorCode::input, "cannot track " + rel_path + ": it is a symbolic link",
                        "track the file or directory it points to instead");
        ScannedFile file;
        file.path = name;
        MLO_TRY(scan_store_link(options, abs, *linked, file));
        out.root.name = name;
        out.root.kind = EntryKind::file;
        out.root.size = file.size;
        out.root.id = file.id;
        out.root.files = 1;
        return out;
    }
    if (S_ISREG(raw.st_mode)) {
        auto st = stat_file(abs);
        if (!st)
            return fail(std::move(st).error());
        ScannedFile file;
        file.path = name;
        file.executable = st->executable;
        file.size = st->size;
        bool was_hashed = false;
        MLO_TRY(hash_one(store, cache, options, abs, rel_path, *st, file, was_hashed));
        out.root.name = name;
        out.root.kind = EntryKind::file;
        out.root.executable = file.executable;
        out.root.size = file.size;
        out.root.id = file.id;
        out.root.files = 1;
        out.hashed_files = was_hashed ? 1 : 0;
        return out;
    }
    if (!S_ISDIR(raw.st_mode))
        return fail(ErrorCode::input, "cannot track " + rel_path + ": not a regular file or directory");

    WalkState state;
    state.root_abs = abs;
    state.dirs.push_back(DirNode{});
    MLO_TRY(walk(state, 0));
    if (!state.errors.empty()) {
        std::string message = "cannot track " + rel_path + ":";
        for (const auto& error : state.errors)
            message += "\n  " + error;
        return fail(ErrorCode::input, message);
    }
    MLO_TRY(hash_all(store, cache, options, state, rel_path, out.hashed_files));
    auto root = build_manifest(store, options, state, 0, out);
    if (!root)
        return fail(std::move(root).error().context("tracking " + rel_path));
    out.root = std::move(*root);
    out.root.name = name;
    out.files = std::move(state.files);
    return out;
}

} // namespace mlo::store
