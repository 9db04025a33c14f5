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

namespace {
// Appends `text` as a JSON string exactly as nlohmann::json::dump() writes it (UTF-8 kept as is,
// control characters escaped), so hand-written manifests keep the bytes — and so the ids — of the
// canonical form. A unit test compares the two on awkward names.
void append_json_string(std::string& out, const std::string& text) {
    static constexpr char k_hex[] = "0123456789abcdef";
    out += '"';
    for (char c : text) {
        auto byte = static_cast<unsigned char>(c);
        switch (c) {
        case '"':
            out += "\\\"";
            break;
        case '\\':
            out += "\\\\";
            break;
        case '\b':
            out += "\\b";
            break;
        case '\f':
            out += "\\f";
            break;
        case '\n':
            out += "\\n";
            break;
        case '\r':
            out += "\\r";
            break;
        case '\t':
            out += "\\t";
            break;
        default:
            if (byte < 0x20) {
                out += "\\u00";
                out += k_hex[byte >> 4];
                out += k_hex[byte & 0xf];
            } else {
                out += c;
            }
        }
    }
    out += '"';
}
} // namespace

// Written by hand rather than through nlohmann::json: a no-op `mlo status` of a large tree rebuilds
// every manifest, and building JSON objects for each entry dominated its run time.
std::string TreeManifest::canonical() const {
    std::string out;
    out.reserve(32 + entries.size() * 140);
    out += "{\"entries\":[";
    bool first = true;
    for (const auto& entry : entries) {
        if (!first)
            out += ',';
        first = false;
        out += "{\"exec\":";
        out += entry.executable ? "true" : "false";
        out += ",\"id\":\"";
        out += entry.id.str();
        out += "\",\"kind\":\"";
        out += to_string(entry.kind);
        out += "\",\"name\":";
        append_json_string(out, entry.name);
        out += ",\"size\":";
        out += std::to_string(entry.size);
        if (entry.kind == EntryKind::symlink) {
            out += ",\"target\":";
            append_json_string(out, entry.target);
        }
        out += '}';
    }
    out += "],\"schema\":\"mlo.tree/1\"}";
    return out;
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
