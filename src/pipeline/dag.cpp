// The pipeline graph.
//
// Nobody declares edges: they follow from paths, as in make and DVC. A stage "produces" its outs
// and metrics files; stage B depends on stage A when a dep of B and a produced path of A are the
// same path or one lies inside the other (B reads a file inside A's output directory, or B reads
// a whole directory that A writes part of). Pipelines have tens of stages, so every pair of paths
// is compared directly; clarity beats an index here.
//
// build() validates while it builds and collects every problem before failing, so a user fixing
// mlo.yaml sees all of its mistakes in one run:
//  - produced paths that coincide or nest (two stages, or one stage, writing the same place:
//    whichever runs last would silently win, and checkout could not restore both);
//  - a stage whose dep and produced path overlap (it would change its own input);
//  - a dep that no stage produces and that is not on disk;
//  - cycles. Kahn's algorithm removes every stage not on or behind a cycle; among the rest, each
//    strongly connected component (stages that reach each other) holds at least one cycle, and
//    a breadth-first search from its first stage in file order finds the shortest one back to
//    it, which is named in order ("cycle: a -> b -> a", each stage's outputs feeding the next).

#include <algorithm>
#include <filesystem>
#include <functional>
#include <mlo/pipeline/dag.hpp>
#include <mlo/util/did_you_mean.hpp>
#include <queue>
#include <stdexcept>

namespace mlo::pipeline {

std::string normalize_pipeline_path(const std::string& path) {
    std::string out;
    size_t start = 0;
    while (start <= path.size()) {
        size_t end = std::min(path.find('/', start), path.size());
        std::string_view part(path.data() + start, end - start);
        if (!part.empty() && part != ".") {
            if (!out.empty())
                out += '/';
            out += part;
        }
        start = end + 1;
    }
    return out;
}

bool path_within(const std::string& inner, const std::string& outer) {
    std::string in = normalize_pipeline_path(inner);
    std::string out = normalize_pipeline_path(outer);
    if (out.empty() || in == out)
        return true;
    return in.size() > out.size() && in.compare(0, out.size(), out) == 0 && in[out.size()] == '/';
}

namespace {

// Joins pieces in one allocation; messages are built inside loops over the entries.
template <typename... Pieces> std::string concat(const Pieces&... pieces) {
    std::string out;
    out.reserve((std::string_view(pieces).size() + ...));
    (out.append(pieces), ...);
    return out;
}

struct Produced {
    std::string path;
    const char* kind; // "out" or "metrics file"
};

std::vector<Produced> produced_paths(const core::StageConfig& stage) {
    std::vector<Produced> out;
    for (const auto& path : stage.outs)
        out.push_back(Produced{path, "out"});
    for (const auto& path : stage.metrics)
        out.push_back(Produced{path, "metrics file"});
    return out;
}

bool overlaps(const std::string& a, const std::string& b) {
    return path_within(a, b) || path_within(b, a);
}

std::string in_quotes(const std::string& text) {
    return "'" + text + "'";
}

} // namespace

Result<Dag> Dag::build(const std::vector<core::StageConfig>& stages, const std::string& project_root) {
    Dag dag;
    std::vector<std::string> problems;
    bool missing_deps = false;

    for (const auto& stage : stages) {
        core::StageConfig normal = stage;
        for (auto* list : {&normal.deps, &normal.outs, &normal.metrics})
            for (auto& path : *list)
                path = normalize_pipeline_path(path);
        if (dag.m_index.count(stage.name)) {
            problems.push_back("duplicate stage name " + in_quotes(stage.name));
            continue;
        }
        dag.m_index[stage.name] = dag.m_stages.size();
        dag.m_up[stage.name];
        dag.m_down[stage.name];
        dag.m_stages.push_back(std::move(normal));
    }
    const auto& all = dag.m_stages;

    // Produced paths must not coincide or nest, across stages or within one.
    for (size_t i = 0; i < all.size(); ++i) {
        auto mine = produced_paths(all[i]);
        for (size_t a = 0; a < mine.size(); ++a) {
            for (size_t b = a + 1; b < mine.size(); ++b) {
                const auto& x = mine[a];
                const auto& y = mine[b];
                std::string where = "stage " + in_quotes(all[i].name) + ": ";
                if (x.path == y.path)
                    problems.push_back(where + in_quotes(x.path) + " is listed twice");
                else if (path_within(y.path, x.path))
                    problems.push_back(where + y.kind + " " + in_quotes(y.path) + " lies inside its " +
                                       x.kind + " " + in_quotes(x.path));
                else if (path_within(x.path, y.path))
                    problems.push_back(where + x.kind + " " + in_quotes(x.path) + " lies inside its " +
                                       y.kind + " " + in_quotes(y.path));
            }
            for (size_t j = 0; j < i; ++j) {
                for (const auto& theirs : produced_paths(all[j])) {
                    const auto& x = mine[a];
                    std::string where =
                        "stage " + in_quotes(all[i].name) + ": " + x.kind + " " + in_quotes(x.path);
                    std::string other = theirs.kind + std::string(" ") + in_quotes(theirs.path) +
                                        " of stage " + in_quotes(all[j].name);
                    if (x.path == theirs.path)
                        problems.push_back(concat(where, " is also the ", theirs.kind, " of stage ",
                                                  in_quotes(all[j].name)));
                    else if (path_within(x.path, theirs.path))
                        problems.push_back(concat(where, " lies inside ", other));
                    else if (path_within(theirs.path, x.path))
                        problems.push_back(concat(where, " contains ", other));
                }
            }
        }
    }

    // Edges, self-dependencies and deps that come from nowhere.
    for (const auto& stage : all) {
        auto own = produced_paths(stage);
        for (const auto& dep : stage.deps) {
            bool self = false;
            for (const auto& out : own) {
                if (!overlaps(dep, out.path))
                    continue;
                self = true;
                std::string where = "stage " + in_quotes(stage.name) + ": dep " + in_quotes(dep);
                if (dep == out.path)
                    problems.push_back(where + " is also its own " + out.kind);
                else if (path_within(dep, out.path))
                    problems.push_back(where + " lies inside its own " + out.kind + " " +
                                       in_quotes(out.path));
                else
                    problems.push_back(where + " contains its own " + out.kind + " " + in_quotes(out.path));
            }
            bool produced = false;
            for (const auto& other : all) {
                if (other.name == stage.name)
                    continue;
                for (const auto& out : produced_paths(other)) {
                    if (!overlaps(dep, out.path))
                        continue;
                    produced = true;
                    dag.m_up[stage.name].insert(other.name);
                    dag.m_down[other.name].insert(stage.name);
                }
            }
            if (!produced && !self) {
                std::error_code ec;
                if (!std::filesystem::exists(std::filesystem::path(project_root) / dep, ec)) {
                    problems.push_back("stage " + in_quotes(stage.name) + ": dep " + in_quotes(dep) +
                                       " does not exist and no stage produces it");
                    missing_deps = true;
                }
            }
        }
    }

    // Cycles: what Kahn's algorithm cannot order is on a cycle or behind one.
    std::vector<size_t> in_degree(all.size());
    for (size_t i = 0; i < all.size(); ++i)
        in_degree[i] = dag.m_up[all[i].name].size();
    std::vector<size_t> ready;
    for (size_t i = 0; i < all.size(); ++i)
        if (in_degree[i] == 0)
            ready.push_back(i);
    std::vector<bool> ordered(all.size(), false);
    while (!ready.empty()) {
        size_t i = ready.back();
        ready.pop_back();
        ordered[i] = true;
        for (const auto& next : dag.m_down[all[i].name])
            if (--in_degree[dag.m_index[next]] == 0)
                ready.push_back(dag.m_index[next]);
    }
    // Neighbours in file order, so the cycle found is the same on every run.
    auto neighbours = [&](size_t i, bool downstream) {
        std::vector<size_t> out;
        for (const auto& name : (downstream ? dag.m_down : dag.m_up)[all[i].name])
            out.push_back(dag.m_index[name]);
        std::sort(out.begin(), out.end());
        return out;
    };
    auto reach = [&](size_t start, bool downstream) {
        std::vector<bool> seen(all.size(), false);
        std::vector<size_t> stack{start};
        seen[start] = true;
        while (!stack.empty()) {
            size_t i = stack.back();
            stack.pop_back();
            for (size_t n : neighbours(i, downstream))
                if (!seen[n]) {
                    seen[n] = true;
                    stack.push_back(n);
                }
        }
        return seen;
    };
    std::vector<bool> reported(all.size(), false);
    for (size_t start = 0; start < all.size(); ++start) {
        if (ordered[start] || reported[start])
            continue;
        auto forward = reach(start, true);
        auto backward = reach(start, false);
        std::vector<bool> component(all.size(), false);
        bool on_cycle = false;
        for (size_t i = 0; i < all.size(); ++i) {
            component[i] = forward[i] && backward[i];
            on_cycle = on_cycle || (component[i] && i != start);
        }
        if (!on_cycle)
            continue; // behind a cycle, not on one (self-edges are never made)
        for (size_t i = 0; i < all.size(); ++i)
            if (component[i])
                reported[i] = true;
        // Shortest path start -> ... -> start inside the component.
        std::vector<size_t> parent(all.size(), SIZE_MAX);
        std::queue<size_t> queue;
        queue.push(start);
        size_t last = SIZE_MAX;
        while (!queue.empty() && last == SIZE_MAX) {
            size_t i = queue.front();
            queue.pop();
            for (size_t n : neighbours(i, true)) {
                if (!component[n])
                    continue;
                if (n == start) {
                    last = i;
                    break;
                }
                if (parent[n] == SIZE_MAX) {
                    parent[n] = i;
                    queue.push(n);
                }
            }
        }
        std::vector<std::string> names{all[start].name};
        for (size_t i = last; i != start; i = parent[i])
            names.push_back(all[i].name);
        std::reverse(names.begin() + 1, names.end());
        std::string text = "cycle: ";
        for (const auto& name : names)
            text += name + " -> ";
        problems.push_back(text + all[start].name);
    }

    if (problems.empty())
        return dag;
    std::string message = "pipeline: ";
    if (problems.size() == 1) {
        message += problems[0];
    } else {
        message += std::to_string(problems.size()) + " problems:";
        for (const auto& problem : problems)
            message += "\n  " + problem;
    }
    return fail(ErrorCode::input, std::move(message),
                missing_deps ? "create the missing files, or add the stage that writes them to the pipeline"
                             : std::string());
}

const core::StageConfig& Dag::stage(const std::string& name) const {
    auto it = m_index.find(name);
    if (it == m_index.end())
        throw std::out_of_range("no stage '" + name + "' in the pipeline");
    return m_stages[it->second];
}

bool Dag::has_stage(const std::string& name) const {
    return m_index.count(name) != 0;
}

const std::set<std::string>& Dag::upstream(const std::string& name) const {
    static const std::set<std::string> k_none;
    auto it = m_up.find(name);
    return it == m_up.end() ? k_none : it->second;
}

const std::set<std::string>& Dag::downstream(const std::string& name) const {
    static const std::set<std::string> k_none;
    auto it = m_down.find(name);
    return it == m_down.end() ? k_none : it->second;
}

std::vector<std::string> Dag::topological_order() const {
    // Kahn's algorithm with a min-heap of file positions: of the stages whose inputs are ready,
    // the one written first in mlo.yaml goes first, so the order only changes when the file does.
    std::vector<size_t> in_degree(m_stages.size());
    std::priority_queue<size_t, std::vector<size_t>, std::greater<>> ready;
    for (size_t i = 0; i < m_stages.size(); ++i) {
        in_degree[i] = upstream(m_stages[i].name).size();
        if (in_degree[i] == 0)
            ready.push(i);
    }
    std::vector<std::string> order;
    while (!ready.empty()) {
        size_t i = ready.top();
        ready.pop();
        order.push_back(m_stages[i].name);
        for (const auto& next : downstream(m_stages[i].name)) {
            size_t n = m_index.at(next);
            if (--in_degree[n] == 0)
                ready.push(n);
        }
    }
    return order;
}

Result<std::vector<std::string>> Dag::select(const std::vector<std::string>& targets) const {
    if (targets.empty())
        return topological_order();
    std::vector<std::string> names;
    for (const auto& stage : m_stages)
        names.push_back(stage.name);
    std::vector<std::string> unknown;
    std::set<std::string> wanted;
    std::vector<std::string> stack;
    for (const auto& target : targets) {
        if (!has_stage(target)) {
            if (std::find(unknown.begin(), unknown.end(), target) == unknown.end())
                unknown.push_back(target);
        } else if (wanted.insert(target).second) {
            stack.push_back(target);
        }
    }
    if (!unknown.empty()) {
        std::string message = unknown.size() == 1 ? "unknown stage " : "unknown stages ";
        for (size_t i = 0; i < unknown.size(); ++i)
            message += (i ? ", " : "") + in_quotes(unknown[i]) + util::did_you_mean(unknown[i], names);
        std::string list;
        for (const auto& name : names)
            list += (list.empty() ? "" : ", ") + name;
        return fail(ErrorCode::usage, std::move(message),
                    names.empty() ? "the pipeline has no stages" : "stages: " + list);
    }
    while (!stack.empty()) {
        std::string name = std::move(stack.back());
        stack.pop_back();
        for (const auto& up : upstream(name))
            if (wanted.insert(up).second)
                stack.push_back(up);
    }
    std::vector<std::string> out;
    for (auto& name : topological_order())
        if (wanted.count(name))
            out.push_back(std::move(name));
    return out;
}

std::set<std::string> Dag::descendants(const std::string& name) const {
    std::set<std::string> out;
    std::vector<std::string> stack{name};
    while (!stack.empty()) {
        std::string current = std::move(stack.back());
        stack.pop_back();
        for (const auto& down : downstream(current))
            if (down != name && out.insert(down).second)
                stack.push_back(down);
    }
    return out;
}

std::string Dag::producer_of(const std::string& path) const {
    std::string normal = normalize_pipeline_path(path);
    for (const auto& stage : m_stages)
        for (const auto& out : produced_paths(stage))
            if (path_within(normal, out.path))
                return stage.name;
    return {};
}

} // namespace mlo::pipeline
