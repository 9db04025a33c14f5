#include <mlo/runs/run_compare.hpp>
#include <mlo/runs/run_filter.hpp>
#include <mlo/runs/run_gate.hpp>
#include <regex>
#include <set>

namespace mlo::runs {

namespace {

// `metrics.acc`, metrics.`f1 score`, params."model"; group 1 = an optional `baseline.` prefix,
// 2 = metrics|params, 3..5 = the key, bare or quoted.
const std::regex k_key_pattern(
    R"re((baseline\.)?\b(metrics|params)\.(?:`([^`]*)`|"([^"]*)"|([A-Za-z0-9_\-/.]*[A-Za-z0-9_])))re");

struct KeyRef {
    bool baseline = false;
    std::string kind; // "metrics" or "params"
    std::string key;
    size_t position = 0, length = 0;
};

std::vector<KeyRef> key_references(const std::string& condition) {
    std::vector<KeyRef> refs;
    // Quoted string values ('...') are not keys: blank them out before matching.
    std::string scanned = condition;
    char quote = 0;
    for (char& c : scanned) {
        if (quote) {
            if (c == quote)
                quote = 0;
            else
                c = ' ';
        } else if (c == '\'') {
            quote = c;
        }
    }
    for (auto it = std::sregex_iterator(scanned.begin(), scanned.end(), k_key_pattern);
         it != std::sregex_iterator(); ++it) {
        const auto& match = *it;
        KeyRef ref;
        ref.baseline = match[1].matched;
        ref.kind = match[2].str();
        ref.key = match[3].matched ? match[3].str() : match[4].matched ? match[4].str() : match[5].str();
        ref.position = static_cast<size_t>(match.position(0));
        ref.length = static_cast<size_t>(match.length(0));
        refs.push_back(ref);
    }
    return refs;
}

std::string quote_string(const std::string& text) {
    std::string out = "'";
    for (char c : text)
        out += c == '\'' ? std::string("''") : std::string(1, c);
    return out + "'";
}

} // namespace

Result<GateResult> evaluate_gate(RunStore& store, const RunRecord& run, const std::string& condition,
                                 const RunRecord* baseline) {
    GateResult result;
    auto refs = key_references(condition);
    // Replace baseline references from the end, so earlier positions stay valid.
    std::string bound = condition;
    for (auto it = refs.rbegin(); it != refs.rend(); ++it) {
        if (!it->baseline)
            continue;
        if (!baseline)
            return fail(ErrorCode::usage, "--fail-if: 'baseline." + it->kind + "." + it->key +
                                              "' needs a baseline run (mlo runs compare BASELINE RUN)");
        std::string value;
        if (it->kind == "metrics") {
            auto found = baseline->metrics.find(it->key);
            if (found == baseline->metrics.end())
                return fail(ErrorCode::usage, "--fail-if: the baseline run " + baseline->id +
                                                  " has no metric '" + it->key + "'");
            value = format_number(found->second);
        } else {
            auto found = baseline->params.find(it->key);
            if (found == baseline->params.end())
                return fail(ErrorCode::usage, "--fail-if: the baseline run " + baseline->id +
                                                  " has no param '" + it->key + "'");
            value = quote_string(found->second);
        }
        result.values.push_back("baseline." + it->kind + "." + it->key + " = " + value);
        bound.replace(it->position, it->length, value);
    }
    std::reverse(result.values.begin(), result.values.end());
    result.condition = bound;
    // Validated alone first, so that error columns point into what the user wrote.
    auto compiled = compile_filter(bound);
    if (!compiled)
        return fail(std::move(compiled).error().context("--fail-if"));

    bool missing_metric = false;
    std::set<std::string> seen;
    for (const auto& ref : refs) {
        if (ref.baseline || !seen.insert(ref.kind + "." + ref.key).second)
            continue;
        std::string name = ref.kind + "." + ref.key;
        if (ref.kind == "metrics") {
            auto found = run.metrics.find(ref.key);
            if (found == run.metrics.end()) {
                missing_metric = true;
                result.values.push_back(name + " is missing from run " + run.id);
            } else {
                result.values.push_back(name + " = " + format_number(found->second));
            }
        } else {
            auto found = run.params.find(ref.key);
            result.values.push_back(name +
                                    (found == run.params.end() ? " is not set" : " = " + found->second));
        }
    }
    if (missing_metric) {
        result.holds = true;
        return result;
    }
    RunQuery query;
    query.filter = "attributes.run_id = " + quote_string(run.id) + " and (" + bound + ")";
    auto rows = store.query(query);
    if (!rows)
        return fail(std::move(rows).error().context("--fail-if"));
    result.holds = !rows->empty();
    return result;
}

} // namespace mlo::runs
