#include <mlo/deploy/target.hpp>
#include <mlo/util/did_you_mean.hpp>
#include <mlo/util/problems.hpp>
#include <set>

namespace mlo::deploy {

namespace fs = std::filesystem;

namespace {

const std::vector<std::string> k_local_keys = {"type",       "host",     "port",    "workers",
                                               "token_file", "tls_cert", "tls_key", "drain_seconds"};

// Reads the settings of a `type: local` target, collecting every problem.
class LocalParser {
  public:
    LocalParser(const std::string& name, const fs::path& root) : m_where("deploy." + name), m_root(root) {}

    Result<LocalTarget> parse(const YAML::Node& node) {
        std::set<std::string> seen;
        for (const auto& item : node) {
            const YAML::Node& key_node = item.first;
            const YAML::Node& value = item.second;
            std::string key = key_node.IsScalar() ? key_node.Scalar() : std::string();
            std::string where = m_where + "." + key;
            if (!seen.insert(key).second) {
                report(key_node, m_where + ": duplicate key '" + key + "'");
            } else if (key == "type") {
                continue;
            } else if (key == "host") {
                if (auto text = scalar(value, where))
                    m_target.host = *text;
            } else if (key == "port") {
                if (auto n = whole(value, where, 0, 65535))
                    m_target.port = static_cast<int>(*n);
            } else if (key == "workers") {
                if (auto n = whole(value, where, 1, 256))
                    m_target.workers = static_cast<unsigned>(*n);
            } else if (key == "drain_seconds") {
                if (auto n = whole(value, where, 0, 3600))
                    m_target.drain_seconds = static_cast<double>(*n);
            } else if (key == "token_file" || key == "tls_cert" || key == "tls_key") {
                if (auto text = scalar(value, where)) {
                    std::string path = (m_root / *text).lexically_normal().string();
                    (key == "token_file" ? m_target.token_file
                     : key == "tls_cert" ? m_target.tls_cert
                                         : m_target.tls_key) = path;
                }
            } else {
                report(key_node,
                       m_where + ": unknown setting '" + key + "'" + util::did_you_mean(key, k_local_keys),
                       "a local target takes " + join(k_local_keys));
            }
        }
        if (m_target.tls_cert.empty() != m_target.tls_key.empty())
            report(node, m_where + ": tls_cert and tls_key go together");
        if (!m_problems.empty())
            return fail(util::problems_error(std::move(m_problems), "mlo.yaml"));
        return m_target;
    }

  private:
    static std::string join(const std::vector<std::string>& words) {
        std::string out;
        for (const auto& word : words)
            out += (out.empty() ? "" : ", ") + word;
        return out;
    }
    void report(const YAML::Node& node, std::string text, std::string hint = {}) {
        m_problems.push_back(util::Problem{util::yaml_line(node), std::move(text), std::move(hint)});
    }
    std::optional<std::string> scalar(const YAML::Node& value, const std::string& where) {
        if (value.IsScalar() && !value.Scalar().empty())
            return value.Scalar();
        report(value, where + ": must be a non-empty string, not " + util::yaml_describe(value));
        return std::nullopt;
    }
    std::optional<long long> whole(const YAML::Node& value, const std::string& where, long long low,
                                   long long high) {
        std::string problem;
        auto number = util::yaml_whole_number(value, low, high, problem);
        if (!number)
            report(value, where + ": " + problem);
        return number;
    }

    std::string m_where;
    fs::path m_root;
    LocalTarget m_target;
    std::vector<util::Problem> m_problems;
};

} // namespace

Result<Target> find_target(const core::Config& config, const std::string& name,
                           const fs::path& project_root) {
    std::vector<std::string> names;
    if (config.deploy && config.deploy.IsMap())
        for (const auto& item : config.deploy)
            names.push_back(item.first.Scalar());
    if (std::find(names.begin(), names.end(), name) == names.end()) {
        std::string known;
        for (const auto& each : names)
            known += (known.empty() ? "" : ", ") + each;
        return fail(
            ErrorCode::input, "no deploy target '" + name + "' in mlo.yaml" + util::did_you_mean(name, names),
            names.empty() ? "add one under `deploy:`, e.g. `deploy: {local: {type: local, port: 8080}}`"
                          : "targets: " + known);
    }
    const YAML::Node node = config.deploy[name];
    Target target;
    target.name = name;
    std::string type = node["type"] && node["type"].IsScalar() ? node["type"].Scalar() : "";
    if (type == "local") {
        auto local = LocalParser(name, project_root).parse(node);
        if (!local)
            return fail(std::move(local).error());
        target.local = std::move(*local);
    } else if (type == "kubernetes") {
        target.type = Target::Type::kubernetes;
        auto kubernetes = serve::parse_kubernetes_target(name, node);
        if (!kubernetes)
            return fail(std::move(kubernetes).error());
        target.kubernetes = std::move(*kubernetes);
    } else {
        return fail(util::problems_error(
            {util::Problem{util::yaml_line(node["type"] ? node["type"] : node),
                           "deploy." + name +
                               ".type: must be 'local' or "
                               "'kubernetes', not " +
                               (type.empty() ? std::string("missing") : "'" + type + "'"),
                           {}}},
            "mlo.yaml"));
    }
    return target;
}

} // namespace mlo::deploy
