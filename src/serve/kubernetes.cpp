// Rendering `mlo deploy --target NAME` for a `type: kubernetes` target.
//
// The manifests are plain text templates (templates/deploy/kubernetes, compiled into the binary)
// with @NAME@ placeholders, not YAML built node by node: a user reading the template reads what
// will be applied, comments included. Text substitution is only safe when no value can change the
// shape of the document, so safety rests on two rules:
//   1. every value is validated before it is substituted, against the grammar Kubernetes or mlo
//      itself imposes (DNS-1123 labels, label values, image references, quantities, semver, object
//      ids), so none contains a quote, a backslash, a newline or a space;
//   2. the templates put every string value inside double quotes, and `substitute` refuses (as an
//      internal error) an inline value holding anything but printable ASCII without '"' and '\'.
//      Values never reach a shell as code: the init container's script is fixed text that reads
//      them from environment variables.
// Optional parts (resource limits, the bearer token) are "block" placeholders standing alone on a
// line; their lines are generated here from validated values and indented like the placeholder.
// The substitution makes one pass, so a value containing '@' (an image digest) is never re-read.
//
// A canary is two Deployments, MODEL-stable and MODEL-canary, behind one Service that selects the
// model only; kube-proxy spreads connections over ready pods, so the pod counts are the weights.
// The stable Deployment is always named MODEL-stable (a plain release too), so moving between a
// release and a canary updates the same object instead of leaving an old one serving.

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <map>
#include <mlo/core/embedded_files.hpp>
#include <mlo/hash/object_id.hpp>
#include <mlo/hash/sha256.hpp>
#include <mlo/registry/tag_name.hpp>
#include <mlo/serve/kubernetes.hpp>
#include <mlo/util/did_you_mean.hpp>
#include <mlo/util/problems.hpp>
#include <optional>
#include <set>
#include <string_view>

namespace mlo::serve {

namespace {

// clang-format off
const std::vector<std::string> k_keys = {
    "type", "namespace", "image", "replicas", "min_replicas", "max_replicas", "cpu_target_percent",
    "cpu_request", "memory_request", "cpu_limit", "memory_limit", "port", "remote", "token_secret"};
// clang-format on

constexpr unsigned k_max_replicas = 1000;
// "-stable" and "-canary" must still fit a 63-character DNS label.
constexpr size_t k_max_base_name = 63 - 7;

bool is_lower_alnum(char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}
bool is_alnum(char c) {
    return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}
bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

// RFC 1123 label, as Kubernetes checks names and namespaces: [a-z0-9]([-a-z0-9]*[a-z0-9])?, <= 63.
bool dns_label(std::string_view text) {
    if (text.empty() || text.size() > 63 || !is_lower_alnum(text.front()) || !is_lower_alnum(text.back()))
        return false;
    return std::all_of(text.begin(), text.end(), [](char c) { return is_lower_alnum(c) || c == '-'; });
}

// RFC 1123 subdomain (Secret names): dot-separated labels, <= 253 characters.
bool dns_subdomain(std::string_view text) {
    if (text.empty() || text.size() > 253)
        return false;
    size_t start = 0;
    while (true) {
        size_t dot = text.find('.', start);
        if (!dns_label(text.substr(start, dot == std::string_view::npos ? dot : dot - start)))
            return false;
        if (dot == std::string_view::npos)
            return true;
        start = dot + 1;
    }
}

// [A-Za-z0-9][A-Za-z0-9._-]*: mlo.yaml's grammar for project, target and remote names.
bool plain_name(std::string_view text) {
    if (text.empty() || !is_alnum(text.front()))
        return false;
    return std::all_of(text.begin(), text.end(),
                       [](char c) { return is_alnum(c) || c == '-' || c == '_' || c == '.'; });
}

// One path component of an image name: [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*, simplified to lowercase
// alphanumerics and separators that neither start nor end it.
bool image_component(std::string_view text) {
    if (text.empty() || !is_lower_alnum(text.front()) || !is_lower_alnum(text.back()))
        return false;
    return std::all_of(text.begin(), text.end(),
                       [](char c) { return is_lower_alnum(c) || c == '.' || c == '_' || c == '-'; });
}

// What is wrong with an image reference ([HOST[:PORT]/]NAME[:TAG][@ALGO:HEX]), or "".
std::string image_problem(std::string_view image) {
    if (image.size() > 255)
        return "is longer than 255 characters";
    std::string_view rest = image;
    if (size_t at = rest.find('@'); at != std::string_view::npos) {
        std::string_view digest = rest.substr(at + 1);
        size_t colon = digest.find(':');
        std::string_view algorithm = digest.substr(0, colon);
        std::string_view hex =
            colon == std::string_view::npos ? std::string_view() : digest.substr(colon + 1);
        bool ok =
            !algorithm.empty() && hex.size() >= 32 &&
            std::all_of(algorithm.begin(), algorithm.end(), [](char c) { return is_lower_alnum(c); }) &&
            std::all_of(hex.begin(), hex.end(), [](char c) { return is_digit(c) || (c >= 'a' && c <= 'f'); });
        if (!ok)
            return "has a bad digest after '@' (expected like @sha256:<64 hex>)";
        rest = rest.substr(0, at);
    }
    size_t slash = rest.rfind('/');
    size_t colon = rest.rfind(':');
    if (colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash)) {
        std::string_view tag = rest.substr(colon + 1);
        bool ok = !tag.empty() && tag.size() <= 128 && (is_alnum(tag.front()) || tag.front() == '_') &&
                  std::all_of(tag.begin(), tag.end(),
                              [](char c) { return is_alnum(c) || c == '_' || c == '.' || c == '-'; });
        if (!ok)
            return "has a bad tag '" + std::string(tag) + "' (letters, digits, '_', '.', '-')";
        rest = rest.substr(0, colon);
    }
    if (rest.empty())
        return "has no repository name";
    std::vector<std::string_view> parts;
    for (size_t start = 0;;) {
        size_t end = rest.find('/', start);
        parts.push_back(rest.substr(start, end == std::string_view::npos ? end : end - start));
        if (end == std::string_view::npos)
            break;
        start = end + 1;
    }
    for (size_t i = 0; i < parts.size(); ++i) {
        std::string_view part = parts[i];
        // The first of several components may be a registry host, with a port and capitals.
        if (i == 0 && parts.size() > 1 &&
            (part.find_first_of(".:") != std::string_view::npos || part == "localhost")) {
            std::string_view host = part.substr(0, part.find(':'));
            std::string_view port =
                part.find(':') == std::string_view::npos ? "1" : part.substr(part.find(':') + 1);
            bool ok = !host.empty() && is_alnum(host.front()) && is_alnum(host.back()) &&
                      std::all_of(host.begin(), host.end(),
                                  [](char c) { return is_alnum(c) || c == '.' || c == '-'; }) &&
                      !port.empty() && port.size() <= 5 && std::all_of(port.begin(), port.end(), is_digit);
            if (!ok)
                return "has a bad registry host '" + std::string(part) + "'";
            continue;
        }
        if (!image_component(part))
            return "has a bad path component '" + std::string(part) +
                   "' (lowercase letters, digits and '.', '_', '-' inside)";
    }
    return {};
}

// A resource quantity: a decimal number and a suffix. Returns its value in base units (cores or
// bytes), or nullopt when it is not one Kubernetes would accept for that resource.
std::optional<double> quantity(std::string_view text, bool cpu) {
    size_t digits = 0;
    bool dot = false;
    while (digits < text.size() && (is_digit(text[digits]) || (text[digits] == '.' && !dot))) {
        dot = dot || text[digits] == '.';
        ++digits;
    }
    std::string_view number = text.substr(0, digits);
    std::string_view suffix = text.substr(digits);
    if (number.empty() || number == "." || number.size() > 15)
        return std::nullopt;
    static const std::map<std::string_view, double> k_cpu = {{"", 1}, {"m", 1e-3}};
    // clang-format off
    static const std::map<std::string_view, double> k_memory = {
        {"", 1}, {"k", 1e3}, {"M", 1e6}, {"G", 1e9}, {"T", 1e12}, {"P", 1e15}, {"E", 1e18},
        {"Ki", 0x1p10}, {"Mi", 0x1p20}, {"Gi", 0x1p30}, {"Ti", 0x1p40}, {"Pi", 0x1p50}, {"Ei", 0x1p60}};
    // clang-format on
    const auto& units = cpu ? k_cpu : k_memory;
    auto unit = units.find(suffix);
    if (unit == units.end())
        return std::nullopt;
    double value = 0; // from_chars, not strtod: a locale's decimal comma must not change the reading
    if (std::from_chars(number.data(), number.data() + number.size(), value).ptr !=
        number.data() + number.size())
        return std::nullopt;
    value *= unit->second;
    if (value <= 0)
        return std::nullopt;
    return value;
}

// Why a git URL may not go into a manifest, or "".
std::string git_url_problem(std::string_view url) {
    for (char c : url)
        if (c <= ' ' || c > '~' || c == '"' || c == '\\' || c == '\'' || c == '`')
            return "contains a space, quote, backslash or non-ASCII character";
    if (url.front() == '-')
        return "starts with '-'";
    // https://user:token@host/... would put a credential into every manifest and pod spec.
    for (std::string_view scheme : {"http://", "https://"}) {
        if (url.substr(0, scheme.size()) == scheme) {
            std::string_view rest = url.substr(scheme.size());
            std::string_view authority = rest.substr(0, rest.find('/'));
            if (authority.find('@') != std::string_view::npos)
                return "carries credentials (user@ or user:token@)";
        }
    }
    return {};
}

// Reads the target's keys, collecting problems.
class TargetParser {
  public:
    TargetParser(const std::string& name, const YAML::Node& node) : m_where("deploy." + name), m_node(node) {
        m_target.name = name;
    }

    Result<KubernetesTarget> parse();

  private:
    void report(const YAML::Node& node, std::string text, std::string hint = {}) {
        m_problems.push_back(util::Problem{util::yaml_line(node), std::move(text), std::move(hint)});
    }
    std::optional<std::string> text(const YAML::Node& key, const YAML::Node& value, const std::string& where);
    std::optional<unsigned> whole(const YAML::Node& key, const YAML::Node& value, const std::string& where,
                                  long long low, long long high);
    static const YAML::Node& place(const YAML::Node& key, const YAML::Node& value) {
        return value.IsNull() || value.Mark().is_null() ? key : value;
    }

    std::string m_where;
    const YAML::Node& m_node;
    KubernetesTarget m_target;
    std::vector<util::Problem> m_problems;
};

std::optional<std::string> TargetParser::text(const YAML::Node& key, const YAML::Node& value,
                                              const std::string& where) {
    if (value.IsScalar() && !value.Scalar().empty())
        return value.Scalar();
    report(place(key, value), where + ": must be a non-empty string, not " + util::yaml_describe(value));
    return std::nullopt;
}

std::optional<unsigned> TargetParser::whole(const YAML::Node& key, const YAML::Node& value,
                                            const std::string& where, long long low, long long high) {
    std::string problem;
    if (auto number = util::yaml_whole_number(value, low, high, problem))
        return static_cast<unsigned>(*number);
    report(place(key, value), where + ": " + problem);
    return std::nullopt;
}

Result<KubernetesTarget> TargetParser::parse() {
    if (!m_node.IsMap())
        return fail(util::problems_error(
            {util::Problem{util::yaml_line(m_node),
                           m_where + ": must be a map, not " + util::yaml_describe(m_node),
                           {}}},
            "mlo.yaml"));
    if (!plain_name(m_target.name))
        report(m_node, "deploy: '" + m_target.name + "' is not a valid target name",
               "use letters, digits, '.', '_' and '-', starting with a letter or digit");
    const char* const dns_hint = "Kubernetes names are lowercase letters, digits and '-', starting and "
                                 "ending with a letter or digit, at most 63 characters";
    bool has_image = false;
    std::set<std::string> seen;
    std::optional<YAML::Node> cpu_limit_at, memory_limit_at, min_at, max_at; // where to report bounds
    for (const auto& item : m_node) {
        const YAML::Node& key_node = item.first;
        const YAML::Node& value = item.second;
        if (!key_node.IsScalar()) {
            report(key_node, m_where + ": keys must be plain strings, not " + util::yaml_describe(key_node));
            continue;
        }
        const std::string& key = key_node.Scalar();
        std::string where = m_where + "." + key;
        if (!seen.insert(key).second) {
            report(key_node, m_where + ": duplicate key '" + key + "'");
            continue;
        }
        if (key == "type") {
            if (auto type = text(key_node, value, where); type && *type != "kubernetes")
                report(value, where + ": is '" + *type + "', not 'kubernetes'");
        } else if (key == "namespace") {
            if (auto ns = text(key_node, value, where)) {
                if (dns_label(*ns))
                    m_target.namespace_name = *ns;
                else
                    report(value, where + ": '" + *ns + "' is not a valid namespace name", dns_hint);
            }
        } else if (key == "image") {
            has_image = true; // an empty value is reported as such, not as a missing key
            if (auto image = text(key_node, value, where)) {
                if (std::string problem = image_problem(*image); !problem.empty())
                    report(value, where + ": '" + *image + "' " + std::move(problem),
                           "an image reference looks like registry.example:5000/team/churn-serve:1.4");
                else
                    m_target.image = *image;
            }
        } else if (key == "replicas") {
            if (auto n = whole(key_node, value, where, 1, k_max_replicas))
                m_target.replicas = *n;
        } else if (key == "min_replicas") {
            if (auto n = whole(key_node, value, where, 1, k_max_replicas)) {
                m_target.min_replicas = *n;
                min_at = value;
            }
        } else if (key == "max_replicas") {
            if (auto n = whole(key_node, value, where, 1, k_max_replicas)) {
                m_target.max_replicas = *n;
                max_at = value;
            }
        } else if (key == "cpu_target_percent") {
            if (auto n = whole(key_node, value, where, 1, 1000))
                m_target.cpu_target_percent = *n;
        } else if (key == "port") {
            // The server runs as a non-root user, which may not bind ports below 1024; the
            // Service can still be reached on any port through an Ingress.
            if (auto n = whole(key_node, value, where, 1024, 65535))
                m_target.port = static_cast<int>(*n);
        } else if (key == "cpu_request" || key == "cpu_limit" || key == "memory_request" ||
                   key == "memory_limit") {
            bool cpu = key.starts_with("cpu");
            auto amount = text(key_node, value, where);
            if (!amount)
                continue;
            if (!quantity(*amount, cpu)) {
                report(value,
                       where + ": '" + *amount + "' is not a " + (cpu ? "CPU" : "memory") + " quantity",
                       cpu ? "CPU is given in cores or millicores: 1, 0.5, 500m"
                           : "memory is given in bytes with a suffix: 512Mi, 2Gi, 1G");
                continue;
            }
            std::string& field = key == "cpu_request"      ? m_target.cpu_request
                                 : key == "cpu_limit"      ? m_target.cpu_limit
                                 : key == "memory_request" ? m_target.memory_request
                                                           : m_target.memory_limit;
            field = *amount;
            if (key == "cpu_limit")
                cpu_limit_at = value;
            else if (key == "memory_limit")
                memory_limit_at = value;
        } else if (key == "remote") {
            if (auto remote = text(key_node, value, where)) {
                if (plain_name(*remote))
                    m_target.remote = *remote;
                else
                    report(value, where + ": '" + *remote + "' is not a valid remote name",
                           "a remote is a key of `remotes:` in mlo.yaml");
            }
        } else if (key == "token_secret") {
            if (auto secret = text(key_node, value, where)) {
                if (dns_subdomain(*secret))
                    m_target.token_secret = *secret;
                else
                    report(value, where + ": '" + *secret + "' is not a valid Secret name", dns_hint);
            }
        } else {
            std::string suggestion = util::did_you_mean(key, k_keys);
            std::string message = m_where;
            message.append(": unknown key '").append(key).append("'").append(suggestion);
            // With a close match the suggestion is enough; without one, the list of keys is the help.
            std::string hint;
            if (suggestion.empty()) {
                hint = "keys of a kubernetes target: ";
                for (const auto& known : k_keys)
                    hint.append(known == k_keys.front() ? "" : ", ").append(known);
            }
            report(key_node, std::move(message), std::move(hint));
        }
    }
    if (!has_image)
        report(
            m_node, m_where + ": missing required key 'image'",
            "the serving image, built from the rendered Dockerfile: `image: registry.example/churn-serve:1`");
    // Kubernetes refuses a limit below its request.
    if (cpu_limit_at && *quantity(m_target.cpu_limit, true) < *quantity(m_target.cpu_request, true))
        report(*cpu_limit_at, m_where + ".cpu_limit: '" + m_target.cpu_limit + "' is below cpu_request '" +
                                  m_target.cpu_request + "'");
    if (memory_limit_at &&
        *quantity(m_target.memory_limit, false) < *quantity(m_target.memory_request, false))
        report(*memory_limit_at, m_where + ".memory_limit: '" + m_target.memory_limit +
                                     "' is below memory_request '" + m_target.memory_request + "'");
    unsigned low = m_target.min_replicas ? m_target.min_replicas : m_target.replicas;
    unsigned high = m_target.max_replicas ? m_target.max_replicas : 3 * m_target.replicas;
    if (low > high)
        report(max_at   ? *max_at
               : min_at ? *min_at
                        : m_node,
               m_where + ": max_replicas (" + std::to_string(high) +
                   (m_target.max_replicas ? "" : ", 3 x replicas") + ") is below min_replicas (" +
                   std::to_string(low) + (m_target.min_replicas ? "" : ", the replicas") + ")");
    if (!m_problems.empty())
        return fail(util::problems_error(std::move(m_problems), "mlo.yaml"));
    return m_target;
}

// Template substitution (see the essay at the top).
struct TemplateValues {
    std::map<std::string, std::string, std::less<>> inline_values;
    std::map<std::string, std::vector<std::string>, std::less<>> blocks;
};

bool inline_safe(std::string_view value) {
    return std::all_of(value.begin(), value.end(),
                       [](char c) { return c >= ' ' && c <= '~' && c != '"' && c != '\\'; });
}

bool placeholder_char(char c) {
    return (c >= 'A' && c <= 'Z') || c == '_';
}

// The placeholder that a whole line consists of (after indentation), or "".
std::string_view lone_placeholder(std::string_view line) {
    std::string_view rest = line.substr(std::min(line.find_first_not_of(' '), line.size()));
    if (rest.size() < 3 || rest.front() != '@' || rest.back() != '@')
        return {};
    std::string_view name = rest.substr(1, rest.size() - 2);
    return std::all_of(name.begin(), name.end(), placeholder_char) ? name : std::string_view();
}

Result<std::string> substitute(std::string_view path, const TemplateValues& values) {
    auto text = core::embedded_file(path);
    if (!text)
        return fail(ErrorCode::internal, "the template " + std::string(path) + " is not built into mlo");
    std::string out;
    out.reserve(text->size() + 1024);
    size_t start = 0;
    while (start < text->size()) {
        size_t end = text->find('\n', start);
        std::string_view line = text->substr(start, end == std::string_view::npos ? end : end - start);
        start = end == std::string_view::npos ? text->size() : end + 1;
        if (std::string_view name = lone_placeholder(line); !name.empty()) {
            if (auto block = values.blocks.find(name); block != values.blocks.end()) {
                std::string_view indent = line.substr(0, line.find('@'));
                for (const auto& block_line : block->second)
                    out.append(block_line.empty() ? "" : std::string(indent)).append(block_line).append("\n");
                continue;
            }
        }
        for (size_t i = 0; i < line.size();) {
            size_t close = line[i] == '@' ? line.find('@', i + 1) : std::string_view::npos;
            std::string_view name =
                close == std::string_view::npos ? std::string_view() : line.substr(i + 1, close - i - 1);
            if (name.empty() || !std::all_of(name.begin(), name.end(), placeholder_char)) {
                out += line[i++];
                continue;
            }
            auto value = values.inline_values.find(name);
            if (value == values.inline_values.end())
                return fail(ErrorCode::internal,
                            std::string(path) + ": no value for @" + std::string(name) + "@");
            if (!inline_safe(value->second))
                return fail(ErrorCode::internal, std::string(path) + ": the value of @" + std::string(name) +
                                                     "@ is not safe to substitute: " + value->second);
            out += value->second;
            i = close + 1;
        }
        out += '\n';
    }
    return out;
}

std::string percent_text(double percent) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.1f%%", percent);
    return buffer;
}

} // namespace

Result<KubernetesTarget> parse_kubernetes_target(const std::string& name, const YAML::Node& node) {
    return TargetParser(name, node).parse();
}

Result<std::string> kubernetes_name(const std::string& model) {
    std::string name;
    name.reserve(model.size());
    for (char c : model) {
        if (c >= 'A' && c <= 'Z')
            name += static_cast<char>(c - 'A' + 'a');
        else if (c == '/' || c == '_')
            name += '-';
        else if (is_lower_alnum(c) || c == '-')
            name += c;
        else
            return fail(ErrorCode::input,
                        "model '" + model + "' cannot be named in Kubernetes: it contains '" +
                            std::string(1, c) + "'",
                        "Kubernetes names are made of the model name's letters, digits, '-', '/' and '_'");
    }
    if (name.empty() || !(name.front() >= 'a' && name.front() <= 'z') || !is_lower_alnum(name.back()))
        return fail(ErrorCode::input,
                    "model '" + model +
                        "' cannot be named in Kubernetes: its name must start with a letter and "
                        "end with a letter or digit",
                    "a Service name is an RFC 1035 label: [a-z]([-a-z0-9]*[a-z0-9])?");
    if (name.size() > k_max_base_name) {
        // Cut, and keep names of different long models apart with a hash of the full name.
        std::string suffix = hash::sha256_of(model).hex().substr(0, 8);
        name.resize(k_max_base_name - suffix.size() - 1);
        while (!name.empty() && name.back() == '-')
            name.pop_back();
        name += "-" + suffix;
    }
    return name;
}

CanarySplit canary_split(unsigned replicas, unsigned canary_percent) {
    canary_percent = std::min(canary_percent, 100u);
    // round-half-up(replicas * (100 - P) / 100) in integers.
    unsigned stable = (replicas * (100 - canary_percent) + 50) / 100;
    stable = std::clamp(stable, 1u, std::max(1u, replicas - 1));
    return CanarySplit{stable, std::max(1u, replicas > stable ? replicas - stable : 0u)};
}

Result<std::vector<RenderedFile>> render_kubernetes(const KubernetesTarget& target,
                                                    const KubernetesRelease& release) {
    // The release comes from the registry, not from a user's file, but is checked all the same:
    // each value lands in a manifest.
    if (!registry::valid_name(release.model))
        return fail(ErrorCode::input, "'" + release.model + "' is not a valid model name");
    auto app = kubernetes_name(release.model);
    if (!app)
        return fail(std::move(app).error());
    bool canary = release.canary_percent > 0;
    if (release.canary_percent > 99)
        return fail(ErrorCode::input,
                    "a canary takes 1 to 99 percent of the traffic, not " +
                        std::to_string(release.canary_percent),
                    "100 percent is a plain release of the new version");
    for (const std::string* version : {&release.version, &release.stable_version}) {
        if (version == &release.stable_version && !canary)
            continue;
        if (auto parsed = registry::SemVer::parse(*version); !parsed)
            return fail(std::move(parsed).error().context(
                version == &release.version ? "the version" : "the stable version"));
    }
    if (canary && release.stable_version == release.version)
        return fail(ErrorCode::input,
                    "the canary and the stable Deployment would both run " + release.version);
    if (auto id = hash::ObjectId::parse(release.manifest_id); !id)
        return fail(std::move(id).error().context("the manifest id"));
    if (!plain_name(release.project))
        return fail(ErrorCode::input, "'" + release.project + "' is not a valid project name");
    if (!release.git_remote_url.empty())
        if (std::string problem = git_url_problem(release.git_remote_url); !problem.empty())
            return fail(ErrorCode::input, "the git remote URL " + problem,
                        "the init container clones the repository from it; give it credentials through "
                        "the cluster (a deploy key, a credential helper), not in the URL");
    // The target is normally parsed by parse_kubernetes_target; a caller may build one by hand.
    if (std::string problem = image_problem(target.image); target.image.empty() || !problem.empty())
        return fail(ErrorCode::input, "deploy." + target.name + ".image: '" + target.image + "' " +
                                          (problem.empty() ? "is empty" : problem));
    const std::pair<bool, const char*> settings[] = {
        {plain_name(target.name), "the target name"},
        {dns_label(target.namespace_name), "namespace"},
        {target.token_secret.empty() || dns_subdomain(target.token_secret), "token_secret"},
        {target.remote.empty() || plain_name(target.remote), "remote"},
        {quantity(target.cpu_request, true).has_value(), "cpu_request"},
        {quantity(target.memory_request, false).has_value(), "memory_request"},
        {target.cpu_limit.empty() || quantity(target.cpu_limit, true), "cpu_limit"},
        {target.memory_limit.empty() || quantity(target.memory_limit, false), "memory_limit"},
        {target.replicas >= 1 && target.replicas <= k_max_replicas, "replicas"},
        {target.port >= 1 && target.port <= 65535, "port"},
        {target.cpu_target_percent >= 1, "cpu_target_percent"}};
    for (const auto& [ok, setting] : settings)
        if (!ok)
            return fail(ErrorCode::input, "deploy." + target.name + ": " + setting + " is not valid",
                        "parse_kubernetes_target says what is wrong with it");

    const std::string model_ref = release.model + "@" + release.version;
    const std::string short_manifest = release.manifest_id.substr(0, 19);
    const std::string stable_name = *app + "-stable", canary_name = *app + "-canary";
    CanarySplit split =
        canary ? canary_split(target.replicas, release.canary_percent) : CanarySplit{target.replicas, 0};
    unsigned min_replicas = target.min_replicas ? target.min_replicas : target.replicas;
    unsigned max_replicas = target.max_replicas ? target.max_replicas : 3 * target.replicas;
    max_replicas = std::max(max_replicas, min_replicas);
    if (canary)
        min_replicas = std::min(min_replicas, split.stable);

    std::vector<std::string> header = {
        "# Rendered by `mlo deploy " + model_ref + " --target " + target.name + "` (project " +
            release.project + ", manifest " + short_manifest + "...).",
        "# Change deploy." + target.name + " in mlo.yaml and render again rather than editing this file."};
    if (canary) {
        unsigned total = split.stable + split.canary;
        header.push_back("# Canary: " + std::to_string(release.canary_percent) + "% requested; " +
                         std::to_string(split.canary) + " of " + std::to_string(total) + " pods (" +
                         percent_text(100.0 * split.canary / total) + ") run " + model_ref + " (" +
                         canary_name + "), " + std::to_string(split.stable) + " (" +
                         percent_text(100.0 * split.stable / total) + ") run " + release.model + "@" +
                         release.stable_version + " (" + stable_name + ").");
        header.push_back(
            "# The Service spreads requests over the ready pods of both, so the pod counts are the "
            "weights.");
    } else {
        header.push_back("# A plain release: " + std::to_string(target.replicas) + " pods run " + model_ref +
                         " (" + stable_name + "). If a canary ran before, remove it:");
        header.push_back("#   kubectl delete deployment " + canary_name + " -n " + target.namespace_name +
                         " --ignore-not-found");
    }

    TemplateValues values;
    auto& v = values.inline_values;
    v["APP"] = *app;
    v["MODEL"] = release.model;
    v["NAMESPACE"] = target.namespace_name;
    v["TARGET"] = target.name;
    v["PROJECT"] = release.project;
    v["MANIFEST_ID"] = release.manifest_id;
    v["IMAGE"] = target.image;
    v["PORT"] = std::to_string(target.port);
    v["GIT_URL"] = release.git_remote_url;
    v["REMOTE"] = target.remote;
    v["CPU_REQUEST"] = target.cpu_request;
    v["MEMORY_REQUEST"] = target.memory_request;
    v["DEPLOYMENT"] = stable_name;
    v["MIN_REPLICAS"] = std::to_string(min_replicas);
    v["MAX_REPLICAS"] = std::to_string(max_replicas);
    v["CPU_TARGET"] = std::to_string(target.cpu_target_percent);
    values.blocks["HEADER"] = header;

    std::vector<std::string> limits;
    if (!target.cpu_limit.empty() || !target.memory_limit.empty()) {
        limits.push_back("limits:");
        if (!target.cpu_limit.empty())
            limits.push_back("  cpu: \"" + target.cpu_limit + "\"");
        if (!target.memory_limit.empty())
            limits.push_back("  memory: \"" + target.memory_limit + "\"");
    }
    values.blocks["LIMITS"] = limits;
    if (!target.token_secret.empty()) {
        values.blocks["TOKEN_ARGS"] = {"- --token-env", "- MLO_SERVE_TOKEN"};
        values.blocks["TOKEN_ENV"] = {"- name: MLO_SERVE_TOKEN", "  valueFrom:", "    secretKeyRef:",
                                      "      name: \"" + target.token_secret + "\"", "      key: token"};
    } else {
        values.blocks["TOKEN_ARGS"] = {};
        values.blocks["TOKEN_ENV"] = {};
    }

    std::vector<RenderedFile> files;
    auto deployment = [&](const std::string& file, const std::string& name, const std::string& track,
                          const std::string& version, unsigned replicas) -> Status {
        TemplateValues own = values;
        own.inline_values["DEPLOYMENT"] = name;
        own.inline_values["TRACK"] = track;
        own.inline_values["VERSION"] = version;
        own.inline_values["REF"] = release.model + "@" + version;
        own.inline_values["REPLICAS"] = std::to_string(replicas);
        auto text = substitute("deploy/kubernetes/deployment.yaml", own);
        if (!text)
            return fail(std::move(text).error());
        files.push_back(RenderedFile{file, std::move(*text)});
        return {};
    };
    if (canary) {
        MLO_TRY(deployment("deployment-stable.yaml", stable_name, "stable", release.stable_version,
                           split.stable));
        MLO_TRY(deployment("deployment-canary.yaml", canary_name, "canary", release.version, split.canary));
    } else {
        MLO_TRY(deployment("deployment-stable.yaml", stable_name, "stable", release.version, split.stable));
    }

    auto service = substitute("deploy/kubernetes/service.yaml", values);
    if (!service)
        return fail(std::move(service).error());
    files.push_back(RenderedFile{"service.yaml", std::move(*service)});

    TemplateValues hpa_values = values;
    if (canary) {
        hpa_values.blocks["HEADER"].push_back("# During the canary the autoscaler scales " + stable_name +
                                              " only (minReplicas " + std::to_string(min_replicas) + "):");
        hpa_values.blocks["HEADER"].push_back(
            "# load lowers the canary's share of the pods, never raises it.");
    }
    auto hpa = substitute("deploy/kubernetes/hpa.yaml", hpa_values);
    if (!hpa)
        return fail(std::move(hpa).error());
    files.push_back(RenderedFile{"hpa.yaml", std::move(*hpa)});

    // The Dockerfile: the project comes from git when there is a URL, else it is baked in.
    TemplateValues docker = values;
    std::vector<std::string> steps = {"#   ctx=$(mktemp -d) && cp \"$(command -v mlo)\" \"$ctx/mlo\""};
    if (release.git_remote_url.empty())
        steps.push_back(
            "#   git clone --quiet /path/to/the/project \"$ctx/project\"   # the repository, tags included");
    steps.push_back("#   docker build -t " + target.image + " -f Dockerfile \"$ctx\"");
    steps.push_back("#   docker push " + target.image);
    docker.blocks["BUILD_STEPS"] = steps;
    if (release.git_remote_url.empty()) {
        docker.blocks["PROJECT_COPY"] = {
            "# The repository has no remote to clone from, so the image carries it (code, mlo.yaml,",
            "# registry tags); the init container copies it to /project. Rebuild after new versions.",
            "COPY --chown=10001:10001 project/ /opt/mlo/project/"};
    } else {
        docker.blocks["PROJECT_COPY"] = {};
    }
    auto dockerfile = substitute("deploy/kubernetes/Dockerfile", docker);
    if (!dockerfile)
        return fail(std::move(dockerfile).error());
    files.push_back(RenderedFile{"Dockerfile", std::move(*dockerfile)});
    return files;
}

} // namespace mlo::serve
