#include <mlo/core/ci_workflow.hpp>
#include <mlo/core/embedded_files.hpp>
#include <mlo/core/init.hpp>
#include <mlo/core/project.hpp>
#include <mlo/data/gitignore.hpp>
#include <mlo/git/repository.hpp>
#include <mlo/util/did_you_mean.hpp>
#include <mlo/util/file_io.hpp>

namespace mlo::core {

namespace fs = std::filesystem;

namespace {
constexpr std::string_view k_template_dir = "project/";
constexpr std::string_view k_template_ext = ".yaml";

// A project name from a directory name: the characters mlo.yaml accepts, else "project".
std::string project_name_for(const fs::path& dir) {
    std::string name;
    for (char c : dir.filename().string())
        name += (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.') ? c : '-';
    if (name.empty() || !std::isalnum(static_cast<unsigned char>(name[0])))
        name = "project";
    return name;
}
} // namespace

std::vector<std::string> project_template_names() {
    std::vector<std::string> names;
    for (const auto& file : embedded_files()) {
        std::string_view path = file.path;
        if (path.substr(0, k_template_dir.size()) == k_template_dir && path.size() > k_template_ext.size() &&
            path.substr(path.size() - k_template_ext.size()) == k_template_ext)
            names.emplace_back(path.substr(k_template_dir.size(),
                                           path.size() - k_template_dir.size() - k_template_ext.size()));
    }
    return names;
}

Result<InitReport> init_project(const fs::path& dir_in, const InitOptions& options) {
    std::error_code ec;
    fs::path dir = fs::weakly_canonical(fs::absolute(dir_in), ec);
    if (!fs::is_directory(dir, ec))
        return fail(ErrorCode::input, "not a directory: " + dir_in.string());
    auto names = project_template_names();
    auto template_text =
        embedded_file(std::string(k_template_dir) + options.template_name + std::string(k_template_ext));
    if (!template_text)
        return fail(ErrorCode::usage, "unknown template '" + options.template_name + "'" +
                                          util::did_you_mean(options.template_name, names));

    InitReport report;
    report.root = dir;
    // Everything that can fail on input is checked before anything is created.
    auto repo = git::Repository::discover(dir);
    if (repo) {
        fs::path work_tree = fs::weakly_canonical(repo->work_tree(), ec);
        if (work_tree != dir)
            return fail(ErrorCode::precondition,
                        "cannot create a project in a subdirectory of the git repository " +
                            work_tree.string(),
                        "run 'mlo init' in " + work_tree.string());
    } else if (repo.error().code != ErrorCode::precondition) {
        return fail(std::move(repo).error());
    }
    fs::path config_path = dir / k_project_file;
    std::string project_name = project_name_for(dir);
    if (fs::exists(config_path, ec)) {
        auto existing = load_config(config_path); // a broken mlo.yaml is reported, never overwritten
        if (!existing)
            return fail(std::move(existing).error());
        project_name = existing->project;
    }
    if (!options.ci.empty())
        MLO_TRY(check_ci_workflow(dir, options.ci, options.force));

    if (!repo) {
        auto created = git::Repository::init(dir);
        if (!created)
            return fail(std::move(created).error());
        report.created.push_back("git repository");
    }
    if (!fs::exists(config_path, ec)) {
        std::string text(*template_text);
        auto at = text.find("@PROJECT@");
        if (at != std::string::npos)
            text.replace(at, 9, project_name);
        MLO_TRY(util::write_file_atomic(config_path, text));
        report.created.push_back(k_project_file);
    }
    fs::path mlo_dir = dir / k_store_dir;
    if (!fs::exists(mlo_dir / "objects", ec)) {
        MLO_TRY(store::ObjectStore(mlo_dir).create());
        report.created.push_back(std::string(k_store_dir) + "/");
    }
    auto ignored = data::ensure_ignored(dir, std::string(k_store_dir) + "/");
    if (!ignored)
        return fail(std::move(ignored).error());
    if (*ignored)
        report.created.push_back(".gitignore entry /" + std::string(k_store_dir) + "/");
    if (!options.ci.empty()) {
        // The branch checked out now is taken as the main one (a fresh repository: "main").
        std::string main_branch = "main";
        if (auto opened = git::Repository::discover(dir))
            if (auto head = opened->head(); head && !head->branch.empty())
                main_branch = head->branch;
        auto written = write_ci_workflow(dir, options.ci, project_name, main_branch);
        if (!written)
            return fail(std::move(written).error());
        report.created.push_back(*written);
    }
    return report;
}

} // namespace mlo::core
