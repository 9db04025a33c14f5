#include <algorithm>
#include <mlo/store/pointer_file.hpp>
#include <mlo/util/did_you_mean.hpp>
#include <mlo/util/file_io.hpp>
#include <yaml-cpp/yaml.h>

namespace mlo::store {

fs::path pointer_path_for(const fs::path& data_path) {
    fs::path out = data_path;
    out += k_pointer_suffix;
    return out;
}

fs::path data_path_for(const fs::path& pointer_path) {
    std::string text = pointer_path.string();
    return text.substr(0, text.size() - std::string(k_pointer_suffix).size());
}

bool is_pointer_path(const fs::path& path) {
    std::string name = path.filename().string();
    std::string suffix = k_pointer_suffix;
    return name.size() > suffix.size() &&
           name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string Pointer::serialize() const {
    YAML::Emitter out;
    out << YAML::BeginMap;
    out << YAML::Key << "schema" << YAML::Value << "mlo.pointer/1";
    out << YAML::Key << "path" << YAML::Value << YAML::DoubleQuoted << path;
    out << YAML::Key << "kind" << YAML::Value << (kind == EntryKind::directory ? "directory" : "file");
    out << YAML::Key << "hash" << YAML::Value << id.str();
    out << YAML::Key << "size" << YAML::Value << size;
    if (kind == EntryKind::directory)
        out << YAML::Key << "files" << YAML::Value << files;
    else if (executable)
        out << YAML::Key << "executable" << YAML::Value << true;
    out << YAML::EndMap;
    return std::string(out.c_str()) + "\n";
}

Result<Pointer> Pointer::parse(const std::string& text, const fs::path& pointer_path) {
    std::string where = pointer_path.string();
    auto bad = [&](const YAML::Node& node, const std::string& why) {
        std::string line = node.IsDefined() && node.Mark().line >= 0
                               ? "line " + std::to_string(node.Mark().line + 1) + ": "
                               : std::string();
        return fail(ErrorCode::input, "malformed pointer file " + where + ": " + line + why,
                    "restore it with 'git checkout -- " + where + "' or re-track the data");
    };
    YAML::Node doc;
    try {
        doc = YAML::Load(text);
    } catch (const YAML::Exception& e) {
        return fail(ErrorCode::input, "malformed pointer file " + where + ": line " +
                                          std::to_string(e.mark.line + 1) + ": " + e.msg);
    }
    if (!doc.IsMap())
        return bad(doc, "expected a YAML map");
    static const std::vector<std::string> k_keys = {"schema", "path",  "kind",      "hash",
                                                    "size",   "files", "executable"};
    for (const auto& item : doc) {
        std::string key = item.first.as<std::string>("");
        if (std::find(k_keys.begin(), k_keys.end(), key) == k_keys.end())
            return bad(item.first, "unknown key '" + key + "'" + util::did_you_mean(key, k_keys));
    }
    try {
        if (!doc["schema"] || doc["schema"].as<std::string>() != "mlo.pointer/1")
            return bad(doc["schema"], "expected 'schema: mlo.pointer/1'");
        Pointer pointer;
        if (!doc["path"] || !doc["path"].IsScalar())
            return bad(doc, "missing 'path'");
        pointer.path = doc["path"].as<std::string>();
        std::string own_name = data_path_for(pointer_path.filename()).string();
        if (pointer.path != own_name)
            return bad(doc["path"], "'path: " + pointer.path + "' does not match the pointer's name '" +
                                        own_name + "' (a pointer describes only the file beside it)");
        std::string kind = doc["kind"] ? doc["kind"].as<std::string>() : "";
        if (kind == "file")
            pointer.kind = EntryKind::file;
        else if (kind == "directory")
            pointer.kind = EntryKind::directory;
        else
            return bad(doc["kind"].IsDefined() ? doc["kind"] : doc, "'kind' must be file or directory");
        if (!doc["hash"])
            return bad(doc, "missing 'hash'");
        auto id = hash::ObjectId::parse(doc["hash"].as<std::string>());
        if (!id)
            return bad(doc["hash"], id.error().message);
        pointer.id = *id;
        if (!doc["size"])
            return bad(doc, "missing 'size'");
        pointer.size = doc["size"].as<uint64_t>();
        if (doc["files"]) {
            if (pointer.kind != EntryKind::directory)
                return bad(doc["files"], "'files' is only for directories");
            pointer.files = doc["files"].as<uint64_t>();
        }
        if (doc["executable"]) {
            if (pointer.kind != EntryKind::file)
                return bad(doc["executable"], "'executable' is only for files");
            pointer.executable = doc["executable"].as<bool>();
        }
        return pointer;
    } catch (const YAML::Exception& e) {
        return fail(ErrorCode::input, "malformed pointer file " + where + ": line " +
                                          std::to_string(e.mark.line + 1) + ": " + e.msg);
    }
}

Result<Pointer> Pointer::load(const fs::path& pointer_path) {
    auto text = util::read_file(pointer_path);
    if (!text)
        return fail(std::move(text).error());
    return parse(*text, pointer_path);
}

} // namespace mlo::store
