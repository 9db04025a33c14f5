// Push and fetch: which objects move, in which order, and how a rerun resumes.
//
// Push. The closure of the plan is computed locally: every manifest below a tree root is read
// from the local store (cheap: manifests are small and hashed on read), giving the set of file
// objects and the manifests with their height (1 for a directory holding only files). What the
// remote holds comes from the local record (KnownObjects) when it covers everything — the no-op
// push costs one file read and no request — else from the remote: one listing (256 parallel
// prefix listings) when more than k_listing_threshold ids are unknown, one HEAD each otherwise.
// Then, in waves: files; manifests by increasing height (a manifest only when everything below
// it is on the remote); metadata; refs. Each wave runs `jobs` uploads at once. Every confirmed id
// is added to the record, which is saved even when a wave fails, so the rerun of a failed or
// interrupted push starts from what is really still missing (and a push killed outright loses
// only the record of its last run, which the next listing rebuilds).
//
// Fetch. Manifests are needed to know what else to fetch, so trees are walked level by level:
// manifests missing locally are downloaded (in parallel), verified and parsed in memory, and
// stored only at the end, deepest first, after every file below them; a fetch that stops
// half-way therefore leaves no manifest whose files are missing. Files stream into the store
// through ObjectStore::receive(), which hashes them on the way and publishes only a match.
#include <algorithm>
#include <map>
#include <mlo/hash/sha256.hpp>
#include <mlo/remote/sync.hpp>
#include <mlo/store/tree_manifest.hpp>
#include <mlo/util/parallel.hpp>
#include <mutex>
#include <unordered_map>
#include <unordered_set>

namespace mlo::remote {

namespace {

// Above this many ids of unknown presence, listing the remote (256 requests) is cheaper than a
// HEAD per id.
constexpr size_t k_listing_threshold = 256;

struct TreeNode {
    std::vector<ObjectId> children_files;
    std::vector<ObjectId> children_trees;
    int height = 0; // 0 = missing locally (cannot be expanded)
};

// The local closure of a push plan.
class LocalClosure {
  public:
    explicit LocalClosure(const store::ObjectStore& objects) : m_objects(objects) {}

    Status add_root(const store::ObjectRoot& root) {
        if (!root.tree) {
            m_files.insert(root.id);
            return {};
        }
        auto height = expand(root.id);
        if (!height)
            return fail(std::move(height).error());
        return {};
    }

    std::unordered_set<ObjectId>& files() { return m_files; }
    std::unordered_map<ObjectId, TreeNode>& trees() { return m_trees; }

  private:
    Result<int> expand(const ObjectId& id) {
        if (auto it = m_trees.find(id); it != m_trees.end())
            return it->second.height;
        TreeNode node;
        if (!m_objects.contains(id)) {
            m_trees.emplace(id, node); // height 0: missing locally
            return 0;
        }
        auto bytes = m_objects.read_bytes(id);
        if (!bytes)
            return fail(std::move(bytes).error());
        auto manifest = store::TreeManifest::parse(*bytes);
        if (!manifest)
            return fail(std::move(manifest).error().context("manifest " + id.str()));
        int height = 1;
        for (const auto& entry : manifest->entries) {
            if (entry.kind == store::EntryKind::directory) {
                auto child = expand(entry.id);
                if (!child)
                    return child;
                node.children_trees.push_back(entry.id);
                height = std::max(height, *child + 1);
            } else {
                node.children_files.push_back(entry.id);
                m_files.insert(entry.id);
            }
        }
        node.height = height;
        m_trees.emplace(id, std::move(node));
        return height;
    }

    const store::ObjectStore& m_objects;
    std::unordered_set<ObjectId> m_files;
    std::unordered_map<ObjectId, TreeNode> m_trees;
};

uint64_t file_size_of(const store::ObjectStore& objects, const ObjectId& id) {
    std::error_code ec;
    auto size = std::filesystem::file_size(objects.path_of(id), ec);
    return ec ? 0 : size;
}

} // namespace

Result<PushReport> push(Remote& remote, const store::ObjectStore& objects, KnownObjects& known,
                        const PushPlan& plan, const PushOptions& options) {
    PushReport report;
    if (options.rescan)
        known.clear();
    LocalClosure closure(objects);
    for (const auto& root : plan.data)
        MLO_TRY(closure.add_root(root));
    for (const auto& id : plan.metadata)
        closure.files().insert(id); // present-locally check below covers metadata too

    // Which objects exist locally.
    std::vector<ObjectId> file_ids(closure.files().begin(), closure.files().end());
    std::sort(file_ids.begin(), file_ids.end());
    auto present = objects.contains_all(file_ids);
    std::unordered_set<ObjectId> local_missing;
    for (size_t i = 0; i < file_ids.size(); ++i)
        if (!present[i])
            local_missing.insert(file_ids[i]);
    for (const auto& [id, node] : closure.trees())
        if (node.height == 0)
            local_missing.insert(id);
    // A tree is complete when it and everything below it is present locally; computed by height.
    std::vector<std::pair<int, ObjectId>> trees_by_height;
    for (const auto& [id, node] : closure.trees())
        if (node.height > 0)
            trees_by_height.emplace_back(node.height, id);
    std::sort(trees_by_height.begin(), trees_by_height.end());
    std::unordered_set<ObjectId> incomplete;
    for (const auto& [height, id] : trees_by_height) {
        const auto& node = closure.trees().at(id);
        bool ok =
            std::none_of(node.children_files.begin(), node.children_files.end(),
                         [&](const ObjectId& child) { return local_missing.count(child) != 0; }) &&
            std::none_of(node.children_trees.begin(), node.children_trees.end(), [&](const ObjectId& child) {
                return local_missing.count(child) != 0 || incomplete.count(child) != 0;
            });
        if (!ok)
            incomplete.insert(id);
    }
    for (const auto& id : local_missing)
        report.missing_locally.push_back(id.str());
    std::sort(report.missing_locally.begin(), report.missing_locally.end());

    // Everything we may send, and which of it the remote is not known to hold.
    std::vector<ObjectId> sendable;
    for (const auto& id : file_ids)
        if (!local_missing.count(id))
            sendable.push_back(id);
    for (const auto& [height, id] : trees_by_height)
        if (!incomplete.count(id))
            sendable.push_back(id);
    report.objects = sendable.size();
    std::vector<ObjectId> unknown;
    for (const auto& id : sendable)
        if (!known.contains(id))
            unknown.push_back(id);

    std::mutex known_mutex;
    auto confirm = [&](const ObjectId& id) {
        std::lock_guard lock(known_mutex);
        known.add(id);
    };
    // Saves the record whatever happens next, so a failed push's progress is not lost.
    auto finish = [&](Status status) -> Result<PushReport> {
        auto saved = known.save();
        if (!status)
            return fail(std::move(status).error());
        if (!saved)
            return fail(std::move(saved).error());
        return report;
    };

    if (!unknown.empty()) {
        if (unknown.size() > k_listing_threshold) {
            report.listed = true;
            if (options.progress)
                options.progress->begin("listing " + remote.name(), 0, 0);
            auto listed = remote.list_objects();
            if (options.progress)
                options.progress->end();
            if (!listed)
                return finish(fail(std::move(listed).error()));
            for (const auto& id : *listed)
                known.add(id);
        } else {
            auto looked_up = util::parallel_for(unknown.size(), remote.jobs(), [&](size_t i) -> Status {
                auto there = remote.has_object(unknown[i]);
                if (!there)
                    return fail(std::move(there).error());
                if (*there)
                    confirm(unknown[i]);
                return {};
            });
            if (!looked_up)
                return finish(looked_up);
        }
    }

    // The waves: files (and metadata, held back to the end), then manifests by height.
    std::unordered_set<ObjectId> metadata(plan.metadata.begin(), plan.metadata.end());
    std::vector<std::vector<ObjectId>> waves(1);
    std::vector<ObjectId> metadata_wave;
    for (const auto& id : file_ids) {
        if (local_missing.count(id) || known.contains(id))
            continue;
        (metadata.count(id) ? metadata_wave : waves[0]).push_back(id);
    }
    int current_height = 0;
    for (const auto& [height, id] : trees_by_height) {
        if (incomplete.count(id) || known.contains(id))
            continue;
        if (height != current_height) {
            waves.emplace_back();
            current_height = height;
        }
        waves.back().push_back(id);
    }
    waves.push_back(std::move(metadata_wave));

    uint64_t total_items = 0, total_bytes = 0;
    for (const auto& wave : waves)
        for (const auto& id : wave) {
            ++total_items;
            total_bytes += file_size_of(objects, id);
        }
    if (options.progress && total_items > 0)
        options.progress->begin("pushing to " + remote.name(), total_items, total_bytes);
    std::mutex report_mutex;
    for (const auto& wave : waves) {
        auto sent = util::parallel_for(wave.size(), remote.jobs(), [&](size_t i) -> Status {
            const ObjectId& id = wave[i];
            uint64_t size = file_size_of(objects, id);
            MLO_TRY(remote.put_object(id, objects.path_of(id), size));
            confirm(id);
            {
                std::lock_guard lock(report_mutex);
                ++report.uploaded;
                report.uploaded_bytes += size;
            }
            if (options.progress)
                options.progress->advance(1, size);
            return {};
        });
        if (!sent) {
            if (options.progress && total_items > 0)
                options.progress->end();
            return finish(sent);
        }
    }
    if (options.progress && total_items > 0)
        options.progress->end();

    // Refs last, and only those the remote lacks (a ref names an immutable record).
    std::map<std::string, std::vector<std::pair<std::string, std::string>>> refs_by_dir;
    for (const auto& ref : plan.refs) {
        auto slash = ref.first.rfind('/');
        refs_by_dir[slash == std::string::npos ? "" : ref.first.substr(0, slash)].push_back(ref);
    }
    for (const auto& [dir, refs] : refs_by_dir) {
        auto existing = remote.list_refs(dir);
        if (!existing)
            return finish(fail(std::move(existing).error()));
        std::unordered_set<std::string> there(existing->begin(), existing->end());
        std::vector<const std::pair<std::string, std::string>*> todo;
        for (const auto& ref : refs)
            if (!there.count(ref.first.substr(dir.size() + 1)))
                todo.push_back(&ref);
        auto written = util::parallel_for(todo.size(), remote.jobs(), [&](size_t i) -> Status {
            MLO_TRY(remote.put_ref(todo[i]->first, todo[i]->second));
            std::lock_guard lock(report_mutex);
            ++report.refs;
            return {};
        });
        if (!written)
            return finish(written);
    }
    return finish({});
}

Result<FetchReport> fetch(Remote& remote, const store::ObjectStore& objects,
                          const std::vector<store::ObjectRoot>& roots, util::ProgressSink* progress) {
    FetchReport report;
    std::mutex mutex;
    auto classify_failure = [&](const ObjectId& id, Error error) -> Status {
        // Missing and corrupt objects are collected (the rest still comes); anything else stops.
        std::lock_guard lock(mutex);
        if (error.code == ErrorCode::input && error.message.find("is not on remote") != std::string::npos) {
            report.missing_on_remote.push_back(id.str());
            return {};
        }
        if (error.message.find("corrupt download") != std::string::npos) {
            report.corrupt.push_back(id.str() + ": " + error.message);
            return {};
        }
        return fail(std::move(error));
    };

    std::unordered_set<ObjectId> files;
    std::unordered_set<ObjectId> seen_trees;
    std::vector<ObjectId> level;
    for (const auto& root : roots) {
        if (!root.tree)
            files.insert(root.id);
        else if (seen_trees.insert(root.id).second)
            level.push_back(root.id);
    }
    // Manifests downloaded now, in discovery order (parents before children); stored reversed.
    std::vector<std::pair<ObjectId, std::string>> fetched_manifests;
    if (progress && !level.empty())
        progress->begin("reading manifests from " + remote.name(), 0, 0);
    while (!level.empty()) {
        std::sort(level.begin(), level.end());
        auto present = objects.contains_all(level);
        std::vector<std::optional<std::string>> bytes(level.size());
        for (size_t i = 0; i < level.size(); ++i) {
            if (!present[i])
                continue;
            auto local = objects.read_bytes(level[i]);
            if (!local)
                return fail(std::move(local).error());
            bytes[i] = std::move(*local);
        }
        MLO_TRY(util::parallel_for(level.size(), remote.jobs(), [&](size_t i) -> Status {
            if (present[i])
                return {};
            std::string body;
            ByteSink sink{[&](std::string_view chunk) -> Status {
                              body.append(chunk);
                              return {};
                          },
                          [&]() -> Status {
                              body.clear();
                              return {};
                          }};
            if (auto got = remote.get_object(level[i], sink); !got)
                return classify_failure(level[i], std::move(got).error());
            if (hash::sha256_of(body) != level[i])
                return classify_failure(level[i], Error{ErrorCode::failure,
                                                        "corrupt download: " + level[i].str() +
                                                            " arrived as bytes hashing to " +
                                                            hash::sha256_of(body).str(),
                                                        {}});
            bytes[i] = std::move(body);
            if (progress)
                progress->advance(1, bytes[i]->size());
            return {};
        }));
        std::vector<ObjectId> next;
        for (size_t i = 0; i < level.size(); ++i) {
            if (!bytes[i])
                continue; // missing or corrupt: reported; its subtree is unknown
            auto manifest = store::TreeManifest::parse(*bytes[i]);
            if (!manifest)
                return fail(std::move(manifest).error().context("manifest " + level[i].str() +
                                                                " from remote '" + remote.name() + "'"));
            ++report.objects;
            if (!present[i])
                fetched_manifests.emplace_back(level[i], std::move(*bytes[i]));
            for (const auto& entry : manifest->entries) {
                if (entry.kind == store::EntryKind::directory) {
                    if (seen_trees.insert(entry.id).second)
                        next.push_back(entry.id);
                } else {
                    files.insert(entry.id);
                }
            }
        }
        level = std::move(next);
    }
    if (progress && !roots.empty())
        progress->end();

    std::vector<ObjectId> file_ids(files.begin(), files.end());
    std::sort(file_ids.begin(), file_ids.end());
    report.objects += file_ids.size();
    auto present = objects.contains_all(file_ids);
    std::vector<ObjectId> wanted;
    for (size_t i = 0; i < file_ids.size(); ++i)
        if (!present[i])
            wanted.push_back(file_ids[i]);
    if (progress && !wanted.empty())
        progress->begin("fetching from " + remote.name(), wanted.size(), 0);
    auto downloaded = util::parallel_for(wanted.size(), remote.jobs(), [&](size_t i) -> Status {
        const ObjectId& id = wanted[i];
        auto incoming = objects.receive(id);
        if (!incoming)
            return fail(std::move(incoming).error());
        ByteSink sink{[&](std::string_view chunk) { return (*incoming)->write(chunk); },
                      [&]() { return (*incoming)->reset(); }};
        if (auto got = remote.get_object(id, sink); !got)
            return classify_failure(id, std::move(got).error());
        auto stored = (*incoming)->commit();
        if (!stored)
            return classify_failure(id, std::move(stored).error());
        {
            std::lock_guard lock(mutex);
            ++report.downloaded;
            report.downloaded_bytes += stored->size;
        }
        if (progress)
            progress->advance(1, stored->size);
        return {};
    });
    if (progress && !wanted.empty())
        progress->end();
    MLO_TRY(downloaded);

    // Manifests last, deepest first: a manifest in the store has its files there too — unless
    // one of them could not be fetched, in which case the manifests above it stay out as well.
    std::unordered_set<ObjectId> failed;
    for (const auto& text : report.missing_on_remote)
        failed.insert(*ObjectId::parse(text));
    for (const auto& text : report.corrupt)
        failed.insert(*ObjectId::parse(text.substr(0, 71)));
    // Passes until nothing changes: a manifest is stored once every directory below it is (a
    // directory shared by two parents can be discovered before one of its ancestors).
    std::vector<bool> settled(fetched_manifests.size(), false);
    for (bool changed = true; changed;) {
        changed = false;
        for (size_t n = fetched_manifests.size(); n-- > 0;) {
            if (settled[n])
                continue;
            const auto& [id, text] = fetched_manifests[n];
            auto manifest = store::TreeManifest::parse(text);
            bool broken =
                std::any_of(manifest->entries.begin(), manifest->entries.end(),
                            [&](const store::TreeEntry& entry) { return failed.count(entry.id) != 0; });
            bool waiting = std::any_of(
                manifest->entries.begin(), manifest->entries.end(), [&](const store::TreeEntry& entry) {
                    return entry.kind == store::EntryKind::directory && !objects.contains(entry.id);
                });
            if (!broken && waiting)
                continue;
            settled[n] = true;
            changed = true;
            if (broken) {
                failed.insert(id);
                continue;
            }
            auto stored = objects.put_bytes(text);
            if (!stored)
                return fail(std::move(stored).error());
            ++report.downloaded;
            report.downloaded_bytes += text.size();
        }
    }
    std::sort(report.missing_on_remote.begin(), report.missing_on_remote.end());
    std::sort(report.corrupt.begin(), report.corrupt.end());
    return report;
}

} // namespace mlo::remote
