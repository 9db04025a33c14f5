#include <mlo/data/tree_reader.hpp>

namespace mlo::data {

namespace {
Status flatten(const store::ObjectStore& store, const hash::ObjectId& id, const std::string& prefix,
               FlatTree& out) {
    auto bytes = store.read_bytes(id);
    if (!bytes)
        return fail(std::move(bytes).error().context("reading directory manifest" +
                                                     (prefix.empty() ? std::string() : " of " + prefix)));
    auto manifest = store::TreeManifest::parse(*bytes);
    if (!manifest)
        return fail(std::move(manifest).error().context("manifest " + id.str()));
    for (const auto& entry : manifest->entries) {
        std::string path = prefix.empty() ? entry.name : prefix + "/" + entry.name;
        if (entry.kind == store::EntryKind::directory) {
            out.dirs.insert(path);
            MLO_TRY(flatten(store, entry.id, path, out));
        } else {
            out.files[path] = FlatEntry{entry.kind, entry.executable, entry.size, entry.id, entry.target};
        }
    }
    return {};
}
} // namespace

Result<FlatTree> flatten_stored_tree(const store::ObjectStore& store, const hash::ObjectId& id) {
    FlatTree out;
    MLO_TRY(flatten(store, id, "", out));
    return out;
}

Status visit_tree_objects(const store::ObjectStore& store, const hash::ObjectId& id,
                          const std::function<void(const hash::ObjectId&)>& visit,
                          const std::function<void(const hash::ObjectId&)>& missing) {
    visit(id);
    if (!store.contains(id)) {
        missing(id);
        return {};
    }
    auto bytes = store.read_bytes(id);
    if (!bytes) {
        missing(id);
        return {};
    }
    auto manifest = store::TreeManifest::parse(*bytes);
    if (!manifest)
        return fail(std::move(manifest).error().context("manifest " + id.str()));
    for (const auto& entry : manifest->entries) {
        if (entry.kind == store::EntryKind::directory)
            MLO_TRY(visit_tree_objects(store, entry.id, visit, missing));
        else
            visit(entry.id);
    }
    return {};
}

} // namespace mlo::data
