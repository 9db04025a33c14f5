// mlo's entry point: parse the global flags and the subcommand, do the setup the command table
// asks for, run the command, and turn errors into SPEC.md's message format and exit codes.
#include "command.hpp"

#include <algorithm>
#include <cstring>
#include <fmt/core.h>
#include <mlo/core/version.hpp>
#include <mlo/util/did_you_mean.hpp>
#include <optional>
#include <unistd.h>

namespace mlo::cli {

namespace {
CLI::App* g_app = nullptr; // the parsed command line, for `mlo help COMMAND`

std::vector<std::string> command_names() {
    std::vector<std::string> names;
    for (const auto& spec : command_table())
        names.emplace_back(spec.name);
    return names;
}

// The first argument that is neither a global flag nor a flag's value: the subcommand's name.
const char* find_command_word(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
        std::string_view arg = argv[i];
        if (arg == "-C" || arg == "--color") {
            ++i;
            continue;
        }
        if (!arg.empty() && arg[0] == '-')
            continue;
        return argv[i];
    }
    return nullptr;
}

// The first word after `after` (skipping flags and the values of -C and --color), or null.
const char* next_word(int argc, char** argv, int after) {
    for (int i = after + 1; i < argc; ++i) {
        std::string_view arg = argv[i];
        if (arg == "-C" || arg == "--color") {
            ++i;
            continue;
        }
        if (!arg.empty() && arg[0] != '-')
            return argv[i];
    }
    return nullptr;
}

// "mlo tarck" and "mlo runs lst": an error naming the unknown word, with a suggestion.
std::optional<Error> check_command_words(int argc, char** argv, const std::vector<CLI::App*>& subapps) {
    const char* word = find_command_word(argc, argv);
    if (word == nullptr)
        return std::nullopt;
    auto names = command_names();
    if (std::find(names.begin(), names.end(), word) == names.end())
        return Error{ErrorCode::usage,
                     fmt::format("'{}' is not an mlo command{}", word, util::did_you_mean(word, names)),
                     "see 'mlo --help' for the list of commands"};
    for (auto* sub : subapps) {
        auto nested = sub->get_subcommands([](CLI::App*) { return true; });
        if (sub->get_name() != word || nested.empty())
            continue;
        std::vector<std::string> children;
        for (auto* child : nested)
            children.push_back(child->get_name());
        int position = 1;
        while (position < argc && std::string_view(argv[position]) != word)
            ++position;
        const char* next = next_word(argc, argv, position);
        // A command that also takes a positional (`mlo register MODEL`) only flags a word that
        // looks like a misspelt subcommand; any other word is its argument.
        bool takes_positional =
            !sub->get_options([](const CLI::Option* option) { return option->get_positional(); }).empty();
        if (next != nullptr && takes_positional && util::closest_match(next, children).empty())
            continue;
        if (next != nullptr && std::find(children.begin(), children.end(), next) == children.end())
            return Error{ErrorCode::usage,
                         fmt::format("'{}' is not a subcommand of 'mlo {}'{}", next, word,
                                     util::did_you_mean(next, children)),
                         fmt::format("see 'mlo {} --help'", word)};
    }
    return std::nullopt;
}

void add_global_options(CLI::App& app, GlobalOptions& global) {
    app.add_option("-C", global.directory, "Run as if mlo was started in DIR")->option_text("DIR");
    app.add_flag("--json", global.json, "Print the result as one JSON document");
    app.add_flag("-q,--quiet", global.quiet, "Print only results and errors");
    app.add_flag("-v,--verbose", global.verbose, "Print more detail on stderr");
    app.add_option("--color", global.color, "Colour output: auto, always or never")
        ->check(CLI::IsMember({"auto", "always", "never"}))
        ->option_text("WHEN");
}

int run(int argc, char** argv) {
    // Answered before anything else is set up: scripts call it to probe for mlo.
    if (argc == 2 && (std::strcmp(argv[1], "--version") == 0 || std::strcmp(argv[1], "version") == 0)) {
        fmt::print("mlo {}\n", k_version);
        return 0;
    }

    GlobalOptions global;
    CLI::App app{"mlo: version data, code and models; train, register, deploy and monitor them", "mlo"};
    app.set_version_flag("--version", std::string("mlo ") + k_version);
    app.fallthrough();
    app.require_subcommand(0, 1);
    g_app = &app;
    add_global_options(app, global);

    std::vector<std::unique_ptr<Command>> commands;
    std::vector<CLI::App*> subapps;
    for (const auto& spec : command_table()) {
        commands.push_back(spec.make());
        CLI::App* sub = app.add_subcommand(spec.name, spec.summary);
        sub->fallthrough();
        sub->footer(
            "Global options (see 'mlo --help'): -C DIR, --json, -q/--quiet, -v/--verbose, --color WHEN");
        commands.back()->define(*sub);
        subapps.push_back(sub);
    }

    // Unknown commands and subcommands get "did you mean" before CLI11 sees them.
    if (auto error = check_command_words(argc, argv, subapps)) {
        global.json = std::any_of(argv + 1, argv + argc,
                                  [](const char* arg) { return std::string_view(arg) == "--json"; });
        Output(global).error(*error);
        return exit_code_for(error->code);
    }

    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp&) {
        std::fputs(app.help().c_str(), stdout);
        return 0;
    } catch (const CLI::CallForAllHelp&) {
        std::fputs(app.help("", CLI::AppFormatMode::All).c_str(), stdout);
        return 0;
    } catch (const CLI::CallForVersion&) {
        fmt::print("mlo {}\n", k_version);
        return 0;
    } catch (const CLI::ParseError& e) {
        // A subcommand's --help arrives here too (CLI11 raises it from the subcommand).
        if (e.get_exit_code() == 0) {
            for (auto* sub : subapps)
                if (sub->parsed()) {
                    std::fputs(sub->help().c_str(), stdout);
                    return 0;
                }
            std::fputs(app.help().c_str(), stdout);
            return 0;
        }
        Output out(global);
        out.error(Error{ErrorCode::usage, e.what(),
                        "see 'mlo " +
                            std::string(find_command_word(argc, argv) ? find_command_word(argc, argv) : "") +
                            " --help'"});
        return exit_code_for(ErrorCode::usage);
    }

    Output out(global);
    size_t chosen = 0;
    for (; chosen < subapps.size(); ++chosen)
        if (subapps[chosen]->parsed())
            break;
    if (chosen == subapps.size()) {
        std::fputs(app.help().c_str(), stderr);
        return exit_code_for(ErrorCode::usage);
    }

    std::error_code ec;
    std::filesystem::path cwd = std::filesystem::current_path(ec);
    if (!global.directory.empty()) {
        cwd = std::filesystem::absolute(cwd / global.directory, ec);
        if (!std::filesystem::is_directory(cwd, ec)) {
            out.error(Error{ErrorCode::usage,
                            "cannot change to directory '" + global.directory + "': no such directory",
                            {}});
            return exit_code_for(ErrorCode::usage);
        }
    }
    ProgressLine progress(out.stderr_is_terminal() && !global.json && !global.quiet);
    Context context{global, out, cwd, progress};

    std::optional<core::Project> project;
    const CommandSpec& spec = command_table()[chosen];
    if (spec.needs == Needs::project) {
        auto opened = core::Project::open(cwd);
        if (!opened) {
            out.error(opened.error());
            return exit_code_for(opened.error().code);
        }
        project.emplace(std::move(*opened));
        context.project = &*project;
    }

    auto result = commands[chosen]->run(context);
    std::fflush(stdout);
    if (!result) {
        out.error(result.error());
        return exit_code_for(result.error().code);
    }
    return *result;
}

} // namespace

std::string help_text_for(const std::vector<std::string>& command) {
    if (g_app == nullptr)
        return {};
    CLI::App* app = g_app;
    std::string prefix = g_app->get_name();
    for (const auto& word : command) {
        CLI::App* found = nullptr;
        for (auto* sub : app->get_subcommands([](CLI::App*) { return true; }))
            if (sub->get_name() == word)
                found = sub;
        if (found == nullptr)
            return {};
        if (app != g_app)
            prefix += " " + app->get_name();
        app = found;
    }
    // App::help() on the top level would describe the parsed subcommand (help itself).
    return app == g_app
               ? g_app->get_formatter()->make_help(g_app, g_app->get_name(), CLI::AppFormatMode::Normal)
               : app->help(prefix);
}

} // namespace mlo::cli

int main(int argc, char** argv) {
    try {
        return mlo::cli::run(argc, argv);
    } catch (const std::exception& e) {
        fmt::print(stderr, "mlo: error: internal error: {}\n", e.what());
        return 70;
    }
}
