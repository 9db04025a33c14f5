#include "command.hpp"

#include <fmt/format.h>
#include <mlo/registry/keys.hpp>
#include <mlo/registry/model_card.hpp>
#include <mlo/registry/registry.hpp>
#include <mlo/registry/verify.hpp>
#include <mlo/runs/run_compare.hpp>
#include <mlo/util/file_io.hpp>

namespace mlo::cli {
namespace {

namespace fs = std::filesystem;

using registry::ModelRef;

// The signing flags promote, demote and deprecate share.
struct SignFlags {
    bool sign = false;
    std::vector<std::string> keys;
    std::vector<std::string> signatures;
    bool sign_only = false;

    void define(CLI::App* app, bool detached) {
        app->add_flag("--sign", sign, "Sign with your key (see mlo keys)");
        app->add_option("--key", keys, "Sign with this key (repeatable); implies --sign")
            ->option_text("NAME");
        if (!detached)
            return;
        app->add_option("--signature", signatures,
                        "Attach a signature made with --sign-only: \"SIGNER ed25519:...\" (repeatable)")
            ->option_text("SIG");
        app->add_flag("--sign-only", sign_only, "Print your signature for this action; create no tag");
    }

    Result<registry::SignOptions> options() const {
        registry::SignOptions out;
        out.sign = sign || sign_only;
        out.keys = keys;
        out.sign_only = sign_only;
        for (const auto& text : signatures) {
            // Both parts end up in a tag message line: nothing but the two words may get through.
            size_t space = text.find(' ');
            bool well_formed = space != std::string::npos && text.compare(space + 1, 8, "ed25519:") == 0 &&
                               registry::validate_key_name(text.substr(0, space)) &&
                               text.find_first_of(" \t\r\n", space + 1) == std::string::npos;
            if (!well_formed)
                return fail(ErrorCode::usage, "--signature is not \"SIGNER ed25519:<base64>\"",
                            "pass the line --sign-only printed, in quotes");
            out.signatures.push_back(registry::TagSignature{text.substr(0, space), text.substr(space + 1)});
        }
        return out;
    }
};

std::string joined(const std::vector<std::string>& items, const char* separator = ", ") {
    return fmt::format("{}", fmt::join(items, separator));
}

nlohmann::json change_json(const registry::RegistryChange& change) {
    nlohmann::json signers = nlohmann::json::array();
    for (const auto& signature : change.signatures)
        signers.push_back(signature.signer);
    return {{"tag", change.tag},
            {"tag_oid", change.tag_oid},
            {"commit", change.commit},
            {"model", change.fields.model},
            {"version", change.fields.version},
            {"stage", change.fields.stage},
            {"manifest", change.fields.manifest},
            {"signers", signers}};
}

class RegisterCommand : public Command {
  public:
    void define(CLI::App& app) override {
        app.require_subcommand(0, 1);
        app.add_option("model", m_model, "A model of mlo.yaml's `models:` to register a new version of")
            ->option_text("MODEL");
        app.add_option("--from", m_from, "Take the files from this run's outs (id, prefix or 'latest')")
            ->option_text("RUN");
        app.add_option("--version", m_version, "The new version (default: bump the latest)")
            ->option_text("vX.Y.Z");
        app.add_option("--bump", m_bump, "Which part to bump when --version is not given (default patch)")
            ->check(CLI::IsMember({"patch", "minor", "major"}))
            ->option_text("PART");
        app.add_option("--description", m_description, "A description kept in the version's manifest")
            ->option_text("TEXT");
        app.add_flag("--allow-dirty", m_allow_dirty,
                     "Register from uncommitted code (recorded in the version)");
        m_register_sign.define(&app, false);

        m_list = app.add_subcommand("list", "Models, their latest version and the version in each stage");
        m_show = app.add_subcommand("show",
                                    "A version's model card: lineage, metrics, params, signature, history");
        m_show->add_option("ref", m_ref, "MODEL, MODEL@vX.Y.Z or MODEL#STAGE")
            ->required()
            ->option_text("REF");
        m_show->add_option("--markdown", m_markdown, "Also write the card as a Markdown file")
            ->option_text("FILE");
        m_diff =
            app.add_subcommand("diff", "Metrics, params, data and code that changed between two versions");
        m_diff->add_option("refs", m_refs, "Two versions of one model")
            ->required()
            ->expected(2)
            ->option_text("REF REF");
        m_promote = app.add_subcommand("promote", "Assign a version to a stage (tag MODEL#STAGE#N)");
        m_promote->add_option("ref", m_ref, "MODEL@vX.Y.Z (or MODEL#STAGE)")->required()->option_text("REF");
        m_promote->add_option("--to", m_stage, "The stage (one of registry.stages)")
            ->required()
            ->option_text("STAGE");
        m_promote_sign.define(m_promote, true);
        m_demote = app.add_subcommand("demote", "Take the version out of a stage (tag MODEL#STAGE!#N)");
        m_demote->add_option("model", m_ref, "The model")->required()->option_text("MODEL");
        m_demote->add_option("--from", m_stage, "The stage")->required()->option_text("STAGE");
        m_demote_sign.define(m_demote, true);
        m_deprecate =
            app.add_subcommand("deprecate", "Deregister a version (MODEL@vX.Y.Z!) or deprecate a model");
        m_deprecate->add_option("ref", m_ref, "MODEL@vX.Y.Z, or MODEL for the whole model")
            ->required()
            ->option_text("REF");
        m_deprecate_sign.define(m_deprecate, true);
        m_get = app.add_subcommand("get", "Write a version's files into a directory, verified");
        m_get->add_option("ref", m_ref, "MODEL, MODEL@vX.Y.Z or MODEL#STAGE")->required()->option_text("REF");
        m_get->add_option("-o,--output", m_output, "The directory to create")->required()->option_text("DIR");
        m_verify = app.add_subcommand(
            "verify", "Check that MODEL#STAGE may be deployed: tags, manifest, signatures, rules");
        m_verify->add_option("ref", m_ref, "MODEL#STAGE")->required()->option_text("MODEL#STAGE");
        for (auto* sub : {m_list, m_show, m_diff, m_promote, m_demote, m_deprecate, m_get, m_verify})
            sub->fallthrough();
    }

    Result<int> run(Context& context) override {
        if (!any_subcommand())
            return register_version(context);
        auto opened = registry::Registry::open(*context.project);
        if (!opened)
            return fail(std::move(opened).error());
        registry::Registry& reg = *opened;
        if (m_list->parsed())
            return list(context, reg);
        if (m_show->parsed())
            return show(context, reg);
        if (m_diff->parsed())
            return diff(context, reg);
        if (m_get->parsed())
            return get(context, reg);
        if (m_verify->parsed())
            return verify(context, reg);
        return change(context, reg);
    }

  private:
    bool any_subcommand() const {
        for (auto* sub : {m_list, m_show, m_diff, m_promote, m_demote, m_deprecate, m_get, m_verify})
            if (sub->parsed())
                return true;
        return false;
    }

    Result<int> register_version(Context& context) {
        if (m_model.empty())
            return fail(ErrorCode::usage, "name the model to register, or a subcommand",
                        "see 'mlo register --help'");
        registry::RegisterOptions options;
        options.model = m_model;
        options.from_run = m_from;
        if (!m_version.empty()) {
            auto version = registry::SemVer::parse(m_version);
            if (!version)
                return fail(ErrorCode::usage, "--version: " + version.error().message, version.error().hint);
            options.version = *version;
        }
        options.bump = m_bump == "major"   ? registry::Bump::major
                       : m_bump == "minor" ? registry::Bump::minor
                                           : registry::Bump::patch;
        options.description = m_description;
        options.allow_dirty = m_allow_dirty;
        auto sign = m_register_sign.options();
        if (!sign)
            return fail(std::move(sign).error());
        options.sign = *sign;
        auto result = registry::register_model(*context.project, options, context.progress_sink());
        if (!result)
            return fail(std::move(result).error());
        const auto& manifest = result->manifest;
        if (context.out.json()) {
            nlohmann::json document = change_json(result->change);
            document["manifest"] = result->manifest_id.str();
            document["files"] = manifest.files.size();
            document["size"] = manifest.total_size();
            document["run"] = manifest.lineage.run;
            document["same_files_as"] = result->same_files_as;
            context.out.json_result("mlo.register/1", document);
            return 0;
        }
        if (!result->same_files_as.empty())
            context.out.warning("the files are identical to " + m_model + "@" + result->same_files_as);
        context.out.line(
            fmt::format("Registered {} ({} file{}, {}{})", result->change.tag, manifest.files.size(),
                        manifest.files.size() == 1 ? "" : "s",
                        manifest.lineage.run.empty() ? "no recorded run" : "run " + manifest.lineage.run,
                        manifest.lineage.allow_dirty ? ", from uncommitted code" : ""));
        return 0;
    }

    Result<int> list(Context& context, const registry::Registry& reg) {
        const auto& stages = context.project->config().registry_stages;
        std::vector<std::string> names = reg.config_models();
        for (const auto& [name, model] : reg.state().models())
            if (std::find(names.begin(), names.end(), name) == names.end())
                names.push_back(name);
        std::sort(names.begin(), names.end());
        nlohmann::json models = nlohmann::json::array();
        std::vector<std::vector<std::string>> table;
        std::vector<std::string> header = {"model", "latest", "versions"};
        header.insert(header.end(), stages.begin(), stages.end());
        table.push_back(header);
        for (const auto& name : names) {
            const registry::ModelState* model = reg.state().find(name);
            const registry::VersionState* latest = model ? model->latest_active() : nullptr;
            nlohmann::json stage_json = nlohmann::json::object();
            std::vector<std::string> row = {name + (model && model->deprecated ? " (deprecated)" : ""),
                                            latest ? latest->version.str() : "-",
                                            std::to_string(model ? model->versions.size() : 0)};
            for (const auto& stage : stages) {
                auto it = model ? model->stages.find(stage) : decltype(model->stages.end()){};
                bool held = model && it != model->stages.end();
                row.push_back(held ? it->second->version : "-");
                if (held)
                    stage_json[stage] = it->second->version;
            }
            // Stages assigned by tags but no longer listed in mlo.yaml still show in JSON.
            if (model)
                for (const auto& [stage, event] : model->stages)
                    stage_json[stage] = event->version;
            table.push_back(std::move(row));
            models.push_back({{"name", name},
                              {"latest", latest ? latest->version.str() : ""},
                              {"versions", model ? model->versions.size() : 0},
                              {"stages", stage_json},
                              {"deprecated", model && model->deprecated != nullptr}});
        }
        if (context.out.json()) {
            context.out.json_result("mlo.register.list/1", {{"models", models}});
            return 0;
        }
        if (names.empty()) {
            context.out.info("no models: declare them under `models:` in mlo.yaml");
            return 0;
        }
        print_table(context.out, table);
        return 0;
    }

    Result<int> show(Context& context, const registry::Registry& reg) {
        auto ref = ModelRef::parse(m_ref);
        if (!ref)
            return fail(std::move(ref).error());
        auto card = registry::model_card(reg, *ref);
        if (!card)
            return fail(std::move(card).error());
        if (!m_markdown.empty()) {
            fs::path path = fs::absolute(context.cwd / m_markdown);
            MLO_TRY(util::write_file_atomic(path, registry::card_to_markdown(*card)));
            context.out.info("wrote the model card to " + m_markdown);
        }
        if (context.out.json()) {
            context.out.json_result("mlo.register.show/1", registry::card_to_json(*card));
            return 0;
        }
        print_card(context.out, *card);
        return 0;
    }

    static void print_card(const Output& out, const registry::ModelCard& card) {
        const auto& m = card.manifest;
        const auto& lineage = m.lineage;
        out.line(out.paint(m.model + " " + m.version, Output::Color::bold) +
                 (card.deregistered ? "  (deregistered)" : "") +
                 (card.deprecated ? "  (model deprecated)" : ""));
        if (!m.description.empty())
            out.line("  " + m.description);
        out.line(fmt::format("  stages:     {}", card.stages.empty() ? "-" : joined(card.stages)));
        out.line(fmt::format("  type:       {}", m.type.empty() ? "-" : m.type));
        out.line(fmt::format("  registered: {} by {} <{}>{}", m.created, m.author_name, m.author_email,
                             card.signers.empty() ? "" : ", signed by " + joined(card.signers)));
        out.line(fmt::format("  tag:        {}  manifest {}", card.tag, card.manifest_id.substr(0, 19)));
        out.line(fmt::format("  run:        {}", lineage.run.empty() ? "-" : lineage.run));
        out.line(fmt::format("  code:       {}{}{}", lineage.commit.substr(0, 12),
                             lineage.branch.empty() ? "" : " (" + lineage.branch + ")",
                             lineage.dirty ? " + uncommitted changes (--allow-dirty)" : ""));
        if (!lineage.metrics.empty()) {
            out.line("metrics:");
            for (const auto& [key, value] : lineage.metrics)
                out.line(fmt::format("  {} = {}", key, runs::format_number(value)));
        }
        if (!lineage.params.empty()) {
            out.line("params:");
            for (const auto& [key, value] : lineage.params)
                out.line(fmt::format("  {} = {}", key, value));
        }
        if (m.signature.is_object()) {
            out.line("signature:");
            for (const char* direction : {"inputs", "outputs"})
                if (auto it = m.signature.find(direction); it != m.signature.end() && it->is_array())
                    for (const auto& field : *it)
                        out.line(fmt::format("  {:<7} {}: {}{}", direction, field.value("name", ""),
                                             field.value("type", ""),
                                             field.value("pii", false) ? " (pii)" : ""));
        }
        if (!lineage.data.empty()) {
            out.line("inputs:"); // the run's deps from outside it: data and code files
            for (const auto& ref : lineage.data)
                out.line(fmt::format("  {}  {}", ref.id.str().substr(0, 19), ref.path));
        }
        out.line("files:");
        for (const auto& file : m.files)
            out.line(fmt::format("  {}  {:>10}  {}", file.id.str().substr(0, 19), file.size, file.path));
        if (!card.history.empty()) {
            out.line("history:");
            for (const auto& item : card.history)
                out.line(fmt::format("  {}  {} {} by {}{}", item.time,
                                     item.assign ? "promoted to" : "demoted from", item.stage, item.by,
                                     item.signers.empty() ? "" : ", signed by " + joined(item.signers)));
        }
    }

    Result<int> diff(Context& context, const registry::Registry& reg) {
        auto before = ModelRef::parse(m_refs[0]);
        if (!before)
            return fail(std::move(before).error());
        auto after = ModelRef::parse(m_refs[1]);
        if (!after)
            return fail(std::move(after).error());
        auto result = registry::diff_versions(reg, *before, *after);
        if (!result)
            return fail(std::move(result).error());
        if (context.out.json()) {
            context.out.json_result("mlo.register.diff/1", registry::diff_to_json(*result));
            return 0;
        }
        const auto& d = *result;
        context.out.line(fmt::format("{} {} -> {}", d.model, d.before, d.after));
        auto section = [&](const char* title, const auto& changes, auto format) {
            if (changes.empty())
                return;
            context.out.line(title);
            for (const auto& change : changes)
                context.out.line(fmt::format("  {:<24} {} -> {}", change.key,
                                             change.before ? format(*change.before) : "-",
                                             change.after ? format(*change.after) : "-"));
        };
        section("metrics:", d.metrics, [](double value) { return runs::format_number(value); });
        section("params:", d.params, [](const std::string& value) { return value; });
        section("data:", d.data, [](const std::string& id) { return id.substr(0, 19); });
        section("files:", d.files, [](const std::string& id) { return id.substr(0, 19); });
        if (d.commit_before != d.commit_after) {
            context.out.line(
                fmt::format("code: {} -> {}", d.commit_before.substr(0, 12), d.commit_after.substr(0, 12)));
            for (const auto& path : d.code)
                context.out.line("  " + path);
        }
        if (d.metrics.empty() && d.params.empty() && d.data.empty() && d.files.empty() &&
            d.commit_before == d.commit_after)
            context.out.info("no differences");
        return 0;
    }

    Result<int> get(Context& context, const registry::Registry& reg) {
        auto ref = ModelRef::parse(m_ref);
        if (!ref)
            return fail(std::move(ref).error());
        fs::path out_dir = fs::absolute(context.cwd / m_output).lexically_normal();
        auto manifest = registry::get_model(reg, *ref, out_dir);
        if (!manifest)
            return fail(std::move(manifest).error());
        if (context.out.json()) {
            nlohmann::json document = {{"model", manifest->model},
                                       {"version", manifest->version},
                                       {"directory", out_dir.string()},
                                       {"files", manifest->files.size()},
                                       {"size", manifest->total_size()}};
            context.out.json_result("mlo.register.get/1", document);
            return 0;
        }
        context.out.line(fmt::format("Wrote {}@{} ({} file{}, verified) to {}", manifest->model,
                                     manifest->version, manifest->files.size(),
                                     manifest->files.size() == 1 ? "" : "s", m_output));
        return 0;
    }

    Result<int> verify(Context& context, const registry::Registry& reg) {
        auto ref = ModelRef::parse(m_ref);
        if (!ref)
            return fail(std::move(ref).error());
        if (ref->stage.empty())
            return fail(ErrorCode::usage, "verify takes MODEL#STAGE, the stage a deployment would use");
        MLO_TRY(reg.check_stage(ref->stage));
        auto result = registry::verify_stage(reg, ref->model, ref->stage);
        if (!result)
            return fail(std::move(result).error());
        bool ok = result->problems.empty();
        if (context.out.json()) {
            nlohmann::json problems = nlohmann::json::array();
            for (const auto& problem : result->problems)
                problems.push_back({{"tag", problem.tag}, {"message", problem.message}});
            context.out.json_result("mlo.register.verify/1", {{"model", ref->model},
                                                              {"stage", ref->stage},
                                                              {"version", result->version},
                                                              {"tag", result->assignment_tag},
                                                              {"ok", ok},
                                                              {"problems", problems}});
        } else if (ok) {
            context.out.line(fmt::format("{}#{} = {}: verified ({})", ref->model, ref->stage, result->version,
                                         result->assignment_tag));
        } else {
            for (const auto& problem : result->problems)
                context.out.line(context.out.paint("FAIL", Output::Color::red) + " " + problem.tag + ": " +
                                 problem.message);
        }
        return ok ? 0 : 1;
    }

    Result<int> change(Context& context, const registry::Registry& reg) {
        const SignFlags& flags = m_promote->parsed()  ? m_promote_sign
                                 : m_demote->parsed() ? m_demote_sign
                                                      : m_deprecate_sign;
        auto sign = flags.options();
        if (!sign)
            return fail(std::move(sign).error());
        Result<registry::RegistryChange> result = fail(ErrorCode::internal, "no action");
        if (m_promote->parsed()) {
            auto ref = ModelRef::parse(m_ref);
            if (!ref)
                return fail(std::move(ref).error());
            result = registry::promote(reg, *ref, m_stage, *sign);
        } else if (m_demote->parsed()) {
            if (!registry::valid_name(m_ref))
                return fail(ErrorCode::usage, "demote takes a model name, not '" + m_ref + "'",
                            "mlo register demote MODEL --from STAGE");
            result = registry::demote(reg, m_ref, m_stage, *sign);
        } else {
            auto ref = ModelRef::parse(m_ref);
            if (!ref)
                return fail(std::move(ref).error());
            result = registry::deprecate(reg, *ref, *sign);
        }
        if (!result)
            return fail(std::move(result).error());
        if (sign->sign_only) {
            if (context.out.json()) {
                nlohmann::json signatures = nlohmann::json::array();
                for (const auto& signature : result->signatures)
                    signatures.push_back({{"signer", signature.signer}, {"signature", signature.signature}});
                context.out.json_result(
                    "mlo.register.signature/1",
                    {{"tag", result->tag}, {"payload", result->payload}, {"signatures", signatures}});
                return 0;
            }
            context.out.info("signed the payload of " + result->tag + "; pass this line with --signature:");
            for (const auto& signature : result->signatures)
                context.out.line(signature.signer + " " + signature.signature);
            return 0;
        }
        if (context.out.json()) {
            context.out.json_result("mlo.register.change/1", change_json(*result));
            return 0;
        }
        std::vector<std::string> signers;
        for (const auto& signature : result->signatures)
            signers.push_back(signature.signer);
        context.out.line(fmt::format("Created {}{}", result->tag,
                                     signers.empty() ? "" : " (signed by " + joined(signers) + ")"));
        return 0;
    }

    std::string m_model, m_from, m_version, m_bump = "patch", m_description;
    bool m_allow_dirty = false;
    SignFlags m_register_sign, m_promote_sign, m_demote_sign, m_deprecate_sign;
    std::string m_ref, m_stage, m_markdown, m_output;
    std::vector<std::string> m_refs;
    CLI::App *m_list = nullptr, *m_show = nullptr, *m_diff = nullptr, *m_promote = nullptr,
             *m_demote = nullptr, *m_deprecate = nullptr, *m_get = nullptr, *m_verify = nullptr;
};

} // namespace

std::unique_ptr<Command> make_register_command() {
    return std::make_unique<RegisterCommand>();
}

} // namespace mlo::cli
