#include "command.hpp"

#include <mlo/git/repository.hpp>
#include <mlo/registry/keys.hpp>

namespace mlo::cli {
namespace {

namespace fs = std::filesystem;

// Whether `path` is inside `dir` (both absolute, normalised).
bool is_inside(const fs::path& path, const fs::path& dir) {
    auto [dir_end, path_it] = std::mismatch(dir.begin(), dir.end(), path.begin(), path.end());
    return dir_end == dir.end();
}

class KeysCommand : public Command {
  public:
    void define(CLI::App& app) override {
        app.require_subcommand(1, 1);
        m_generate =
            app.add_subcommand("generate", "Create an Ed25519 signing key and print its public key line");
        m_generate->add_option("--name", m_name, "Signer id (default: your git user.email)")
            ->option_text("ID");
        m_list =
            app.add_subcommand("list", "Your signing keys and whether this project's access.keys lists them");
        for (auto* sub : {m_generate, m_list})
            sub->fallthrough();
    }

    Result<int> run(Context& context) override {
        auto dir = registry::keys_directory();
        if (!dir)
            return fail(std::move(dir).error());
        // The project, when there is one, for the access.keys column and the inside-project check.
        auto project = core::Project::open(context.cwd);
        if (m_generate->parsed())
            return generate(context, *dir, project ? &*project : nullptr);
        return list(context, *dir, project ? &*project : nullptr);
    }

  private:
    Result<int> generate(Context& context, const fs::path& dir, const core::Project* project) {
        fs::path absolute = fs::absolute(dir).lexically_normal();
        if (project != nullptr && is_inside(absolute, fs::absolute(project->root()).lexically_normal()))
            return fail(
                ErrorCode::precondition, "the keys directory " + absolute.string() + " is inside the project",
                "a private key must never be committed: set MLO_KEYS_DIR or XDG_CONFIG_HOME elsewhere");
        std::string name = m_name;
        if (name.empty()) {
            auto repo = git::Repository::discover(context.cwd);
            if (repo)
                if (auto identity = repo->identity())
                    name = identity->email;
            if (name.empty())
                return fail(ErrorCode::usage, "no signer id: pass --name or set `git config user.email`");
        }
        auto key = registry::generate_key(dir, name);
        if (!key)
            return fail(std::move(key).error());
        if (context.out.json()) {
            context.out.json_result("mlo.keys.generate/1",
                                    {{"name", key->name},
                                     {"public_key", key->public_key},
                                     {"private_key_path", key->private_key_path.string()}});
            return 0;
        }
        context.out.info("created " + key->private_key_path.string() +
                         " (mode 0600); add this line under access.keys in mlo.yaml:");
        context.out.line(key->name + ": \"" + key->public_key + "\"");
        return 0;
    }

    Result<int> list(Context& context, const fs::path& dir, const core::Project* project) {
        auto keys = registry::list_keys(dir);
        if (!keys)
            return fail(std::move(keys).error());
        auto listed = [&](const registry::SigningKey& key) -> std::string {
            if (project == nullptr)
                return "";
            auto it = project->config().access.keys.find(key.name);
            if (it == project->config().access.keys.end())
                return "not listed";
            return it->second == key.public_key ? "listed" : "listed with another key";
        };
        if (context.out.json()) {
            nlohmann::json items = nlohmann::json::array();
            for (const auto& key : *keys)
                items.push_back({{"name", key.name},
                                 {"public_key", key.public_key},
                                 {"private_key_path", key.private_key_path.string()},
                                 {"access", listed(key)}});
            context.out.json_result("mlo.keys.list/1", {{"directory", dir.string()}, {"keys", items}});
            return 0;
        }
        if (keys->empty()) {
            context.out.info("no keys in " + dir.string() + "; create one with `mlo keys generate`");
            return 0;
        }
        for (const auto& key : *keys) {
            std::string status = listed(key);
            context.out.line(key.name + ": \"" + key.public_key + "\"" +
                             (status.empty() ? "" : "  # " + status));
        }
        return 0;
    }

    std::string m_name;
    CLI::App *m_generate = nullptr, *m_list = nullptr;
};

} // namespace

std::unique_ptr<Command> make_keys_command() {
    return std::make_unique<KeysCommand>();
}

} // namespace mlo::cli
