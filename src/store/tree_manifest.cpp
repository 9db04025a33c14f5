// Directory manifests (the Merkle tree).
//
// A tracked directory is stored as one manifest object per directory level. Each manifest lists
// the level's entries — name, kind, executable bit, size and id — where a subdirectory's id is
// the id of its own manifest. The top manifest's id is the directory's id. Consequences:
//  - the id depends only on names, bytes, kinds and executable bits: same tree, same id, on
//    every machine (mtimes, owners and inode numbers are not part of it);
//  - changing one file rewrites only the manifests on the path from that file to the top, so a
//    push re-sends those few small objects and the file, nothing else;
//  - entries are sorted bytewise and serialised as compact JSON with sorted keys (nlohmann's
//    default object is an ordered std::map), which makes the bytes canonical.
#include <algorithm>
#include <mlo/store/tree_manifest.hpp>
#include <nlohmann/json.hpp>

namespace mlo::store {

std::string to_string(EntryKind kind) {
    switch (kind) {
    case EntryKind::file:
        return "file";
    case EntryKind::directory:
        return "dir";
    case EntryKind::symlink:
        return "symlink";
    }
    return "file";
}

namespace {
bool is_valid_utf8(std::string_view text) {
    size_t i = 0;
    while (i < text.size()) {
        auto lead = static_cast<unsigned char>(text[i]);
        size_t extra;
        if (lead < 0x80)
            extra = 0;
        else if ((lead >> 5) == 0x6)
            extra = 1;
        else if ((lead >> 4) == 0xe)
            extra = 2;
        else if ((lead >> 3) == 0x1e)
            extra = 3;
        else
            return false;
        if (i + extra >= text.size() && extra > 0)
            return false;
        for (size_t k = 1; k <= extra; ++k)
            if ((static_cast<unsigned char>(text[i + k]) >> 6) != 0x2)
                return false;
        i += extra + 1;
    }
    return true;
}
} // namespace

bool is_safe_component(std::string_view name) {
    if (name.empty() || name == "." || name == "..")
        return false;
    if (name.find('/') != std::string_view::npos || name.find('\0') != std::string_view::npos)
        return false;
    return is_valid_utf8(name);
}

Status TreeManifest::normalize() {
    std::sort(entries.begin(), entries.end(),
              [](const TreeEntry& a, const TreeEntry& b) { return a.name < b.name; });
    for (size_t i = 0; i < entries.size(); ++i) {
        if (!is_safe_component(entries[i].name))
            return fail(ErrorCode::input, "unusable file name '" + entries[i].name +
                                              "' (names must be valid UTF-8 and a single path component)");
        if (i > 0 && entries[i].name == entries[i - 1].name)
            return fail(ErrorCode::input, "duplicate entry '" + entries[i].name + "'");
    }
    return {};
}

std::string TreeManifest::canonical() const {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& entry : entries) {
        nlohmann::json item = {{"exec", entry.executable},
                               {"id", entry.id.str()},
                               {"kind", to_string(entry.kind)},
                               {"name", entry.name},
                               {"size", entry.size}};
        if (entry.kind == EntryKind::symlink)
            item["target"] = entry.target;
        list.push_back(std::move(item));
    }
    nlohmann::json doc = {{"entries", std::move(list)}, {"schema", "mlo.tree/1"}};
    return doc.dump();
}

Result<TreeManifest> TreeManifest::parse(std::string_view bytes) {
    nlohmann::json doc;
    try {
        doc = nlohmann::json::parse(bytes);
    } catch (const nlohmann::json::exception& e) {
        return fail(ErrorCode::failure, std::string("malformed tree manifest: ") + e.what());
    }
    auto bad = [](const std::string& why) {
        return fail(ErrorCode::failure, "malformed tree manifest: " + why);
    };
    if (!doc.is_object() || doc.value("schema", "") != "mlo.tree/1" || !doc.contains("entries") ||
        !doc["entries"].is_array())
        return bad("expected schema mlo.tree/1 with an entries list");
    TreeManifest manifest;
    for (const auto& item : doc["entries"]) {
        if (!item.is_object() || !item.contains("name") || !item["name"].is_string() ||
            !item.contains("id") || !item["id"].is_string() || !item.contains("kind") ||
            !item["kind"].is_string() || !item.contains("size") || !item["size"].is_number_unsigned())
            return bad("an entry lacks name, kind, size or id");
        TreeEntry entry;
        entry.name = item["name"].get<std::string>();
        std::string kind = item["kind"].get<std::string>();
        if (kind == "file")
            entry.kind = EntryKind::file;
        else if (kind == "dir")
            entry.kind = EntryKind::directory;
        else if (kind == "symlink")
            entry.kind = EntryKind::symlink;
        else
            return bad("unknown entry kind '" + kind + "'");
        entry.executable = item.value("exec", false);
        entry.size = item["size"].get<uint64_t>();
        auto id = hash::ObjectId::parse(item["id"].get<std::string>());
        if (!id)
            return bad(id.error().message);
        entry.id = *id;
        if (entry.kind == EntryKind::symlink) {
            if (!item.contains("target") || !item["target"].is_string())
                return bad("symlink '" + entry.name + "' has no target");
            entry.target = item["target"].get<std::string>();
        }
        manifest.entries.push_back(std::move(entry));
    }
    if (auto ok = manifest.normalize(); !ok)
        return bad(ok.error().message);
    return manifest;
}

} // namespace mlo::store
