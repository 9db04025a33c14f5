#include <ctime>
#include <mlo/registry/model_manifest.hpp>
#include <mlo/store/tree_manifest.hpp>

namespace mlo::registry {

namespace {

using nlohmann::json;

constexpr const char* k_schema = "mlo.model/1";

// A relative '/'-separated path made of safe components: manifests come from the store, which a
// user may have been handed by someone else, and `get` writes these paths to disk.
bool safe_relative_path(std::string_view path) {
    if (path.empty() || path.front() == '/')
        return false;
    size_t start = 0;
    while (start <= path.size()) {
        size_t end = std::min(path.find('/', start), path.size());
        if (!store::is_safe_component(path.substr(start, end - start)))
            return false;
        start = end + 1;
    }
    return true;
}

// Reads typed fields and remembers the first problem, so parse() can report it with the field name.
class Fields {
  public:
    explicit Fields(const json& object) : m_object(object) {}

    std::string string(const char* key, bool required = true) {
        auto it = m_object.find(key);
        if (it == m_object.end() || it->is_null()) {
            if (required)
                problem(std::string("missing field '") + key + "'");
            return {};
        }
        if (!it->is_string()) {
            problem(std::string("field '") + key + "' must be a string");
            return {};
        }
        return it->get<std::string>();
    }
    hash::ObjectId id(const char* key) {
        std::string text = string(key);
        if (text.empty())
            return {};
        auto id = hash::ObjectId::parse(text);
        if (!id) {
            problem(std::string("field '") + key + "': " + id.error().message);
            return {};
        }
        return *id;
    }
    bool boolean(const char* key) {
        auto it = m_object.find(key);
        if (it == m_object.end())
            return false;
        if (!it->is_boolean()) {
            problem(std::string("field '") + key + "' must be true or false");
            return false;
        }
        return it->get<bool>();
    }
    uint64_t number(const char* key) {
        auto it = m_object.find(key);
        if (it == m_object.end() || !it->is_number_unsigned()) {
            problem(std::string("field '") + key + "' must be a non-negative integer");
            return 0;
        }
        return it->get<uint64_t>();
    }
    const json* array(const char* key) {
        auto it = m_object.find(key);
        if (it == m_object.end() || it->is_null())
            return nullptr;
        if (!it->is_array()) {
            problem(std::string("field '") + key + "' must be a list");
            return nullptr;
        }
        return &*it;
    }
    const json* object(const char* key) {
        auto it = m_object.find(key);
        if (it == m_object.end() || it->is_null())
            return nullptr;
        if (!it->is_object()) {
            problem(std::string("field '") + key + "' must be an object");
            return nullptr;
        }
        return &*it;
    }
    void problem(std::string text) {
        if (m_problem.empty())
            m_problem = std::move(text);
    }
    const std::string& first_problem() const { return m_problem; }

  private:
    const json& m_object;
    std::string m_problem;
};

} // namespace

uint64_t ModelManifest::total_size() const {
    uint64_t total = 0;
    for (const auto& file : files)
        total += file.size;
    return total;
}

json ModelManifest::to_json() const {
    json files_json = json::array();
    for (const auto& file : files)
        files_json.push_back({{"path", file.path},
                              {"id", file.id.str()},
                              {"size", file.size},
                              {"executable", file.executable}});
    json data = json::array();
    for (const auto& ref : lineage.data)
        data.push_back({{"path", ref.path}, {"id", ref.id.str()}});
    json lineage_json = {
        {"run", lineage.run},       {"commit", lineage.commit},           {"branch", lineage.branch},
        {"dirty", lineage.dirty},   {"allow_dirty", lineage.allow_dirty}, {"data", data},
        {"params", lineage.params}, {"metrics", json::object()},
    };
    for (const auto& [key, value] : lineage.metrics)
        lineage_json["metrics"][key] = value;
    return json{
        {"schema", k_schema},
        {"model", model},
        {"version", version},
        {"type", type},
        {"path", path},
        {"kind", kind},
        {"root", root.str()},
        {"files", files_json},
        {"signature", signature},
        {"lineage", lineage_json},
        {"author", {{"name", author_name}, {"email", author_email}}},
        {"created", created},
        {"description", description},
    };
}

Result<ModelManifest> ModelManifest::parse(std::string_view text) {
    json document = json::parse(text, nullptr, false);
    if (document.is_discarded() || !document.is_object())
        return fail(ErrorCode::input, "model manifest: not a JSON object");
    Fields fields(document);
    if (fields.string("schema") != k_schema)
        return fail(ErrorCode::input,
                    "model manifest: unknown schema (expected " + std::string(k_schema) + ")");
    ModelManifest manifest;
    manifest.model = fields.string("model");
    manifest.version = fields.string("version");
    manifest.type = fields.string("type", false);
    manifest.path = fields.string("path");
    manifest.kind = fields.string("kind");
    manifest.root = fields.id("root");
    manifest.created = fields.string("created");
    manifest.description = fields.string("description", false);
    if (manifest.kind != "file" && manifest.kind != "directory")
        fields.problem("field 'kind' must be \"file\" or \"directory\"");
    if (auto it = document.find("signature"); it != document.end())
        manifest.signature = *it;
    if (const json* author = fields.object("author")) {
        Fields author_fields(*author);
        manifest.author_name = author_fields.string("name", false);
        manifest.author_email = author_fields.string("email", false);
        if (!author_fields.first_problem().empty())
            fields.problem("author: " + author_fields.first_problem());
    }
    if (const json* files = fields.array("files")) {
        for (const auto& entry : *files) {
            if (!entry.is_object()) {
                fields.problem("files: entries must be objects");
                break;
            }
            Fields file_fields(entry);
            ModelFile file{file_fields.string("path"), file_fields.id("id"), file_fields.number("size"),
                           file_fields.boolean("executable")};
            if (!file_fields.first_problem().empty())
                fields.problem("files: " + file_fields.first_problem());
            else if (!safe_relative_path(file.path))
                fields.problem("files: '" + file.path + "' is not a safe relative path");
            else if (!manifest.files.empty() && manifest.files.back().path >= file.path)
                fields.problem("files: not sorted or duplicated at '" + file.path + "'");
            manifest.files.push_back(std::move(file));
        }
    }
    if (manifest.files.empty())
        fields.problem("field 'files' must list at least one file");
    if (const json* lineage = fields.object("lineage")) {
        Fields lineage_fields(*lineage);
        Lineage& out = manifest.lineage;
        out.run = lineage_fields.string("run", false);
        out.commit = lineage_fields.string("commit", false);
        out.branch = lineage_fields.string("branch", false);
        out.dirty = lineage_fields.boolean("dirty");
        out.allow_dirty = lineage_fields.boolean("allow_dirty");
        if (const json* data = lineage_fields.array("data"))
            for (const auto& entry : *data) {
                if (!entry.is_object())
                    continue;
                Fields data_fields(entry);
                out.data.push_back(DataRef{data_fields.string("path"), data_fields.id("id")});
                if (!data_fields.first_problem().empty())
                    lineage_fields.problem("data: " + data_fields.first_problem());
            }
        if (const json* params = lineage_fields.object("params"))
            for (const auto& [key, value] : params->items())
                out.params[key] = value.is_string() ? value.get<std::string>() : value.dump();
        if (const json* metrics = lineage_fields.object("metrics"))
            for (const auto& [key, value] : metrics->items())
                if (value.is_number())
                    out.metrics[key] = value.get<double>();
        if (!lineage_fields.first_problem().empty())
            fields.problem("lineage: " + lineage_fields.first_problem());
    }
    if (!fields.first_problem().empty())
        return fail(ErrorCode::input, "model manifest: " + fields.first_problem());
    return manifest;
}

std::string utc_timestamp(int64_t seconds) {
    std::time_t time = static_cast<std::time_t>(seconds);
    std::tm parts{};
    gmtime_r(&time, &parts);
    char buffer[32];
    std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &parts);
    return buffer;
}

} // namespace mlo::registry
