#include "command.hpp"

#include <fmt/format.h>
#include <mlo/registry/audit.hpp>

namespace mlo::cli {
namespace {

class AuditCommand : public Command {
  public:
    void define(CLI::App& app) override {
        app.require_subcommand(1, 1);
        m_log = app.add_subcommand("log", "Every registry and deployment event, oldest first");
        m_verify =
            app.add_subcommand("verify", "Check the event log's hash chain, every tag, signature and rule");
        for (auto* sub : {m_log, m_verify})
            sub->fallthrough();
    }

    Result<int> run(Context& context) override {
        auto reg = registry::Registry::open(*context.project);
        if (!reg)
            return fail(std::move(reg).error());
        if (m_log->parsed())
            return log(context, *reg);
        return verify(context, *reg);
    }

  private:
    Result<int> log(Context& context, const registry::Registry& reg) {
        auto records = registry::audit_records(reg);
        if (!records)
            return fail(std::move(records).error());
        if (context.out.json()) {
            nlohmann::json events = nlohmann::json::array();
            for (const auto& record : *records)
                events.push_back({{"time", record.time},
                                  {"actor", record.actor},
                                  {"action", record.action},
                                  {"subject", record.subject},
                                  {"signers", record.signers},
                                  {"source", record.source}});
            context.out.json_result("mlo.audit.log/1", {{"events", events}});
            return 0;
        }
        if (records->empty()) {
            context.out.info("no events yet");
            return 0;
        }
        std::vector<std::vector<std::string>> table = {
            {"time", "actor", "action", "subject", "signed by", "source"}};
        for (const auto& record : *records)
            table.push_back({record.time, record.actor, record.action, record.subject,
                             record.signers.empty() ? "-" : fmt::format("{}", fmt::join(record.signers, ",")),
                             record.source});
        print_table(context.out, table);
        return 0;
    }

    Result<int> verify(Context& context, const registry::Registry& reg) {
        auto report = registry::audit_verify(reg);
        if (!report)
            return fail(std::move(report).error());
        size_t failures = 0;
        for (const auto& finding : report->findings)
            failures += finding.warning ? 0 : 1;
        if (context.out.json()) {
            nlohmann::json findings = nlohmann::json::array();
            for (const auto& finding : report->findings)
                findings.push_back({{"where", finding.where},
                                    {"message", finding.message},
                                    {"severity", finding.warning ? "warning" : "failure"}});
            context.out.json_result("mlo.audit.verify/1", {{"ok", report->ok()},
                                                           {"tags_checked", report->tags_checked},
                                                           {"events_checked", report->events_checked},
                                                           {"failures", failures},
                                                           {"findings", findings}});
            return report->ok() ? 0 : 1;
        }
        for (const auto& finding : report->findings)
            context.out.line(context.out.paint(finding.warning ? "WARN" : "FAIL",
                                               finding.warning ? Output::Color::yellow : Output::Color::red) +
                             " " + finding.where + ": " + finding.message);
        std::string summary = fmt::format("{} tag{} and {} logged event{} checked", report->tags_checked,
                                          report->tags_checked == 1 ? "" : "s", report->events_checked,
                                          report->events_checked == 1 ? "" : "s");
        if (report->ok())
            context.out.line("audit verified: " + summary);
        else
            context.out.line(
                fmt::format("audit FAILED: {} problem{} ({})", failures, failures == 1 ? "" : "s", summary));
        return report->ok() ? 0 : 1;
    }

    CLI::App *m_log = nullptr, *m_verify = nullptr;
};

} // namespace

std::unique_ptr<Command> make_audit_command() {
    return std::make_unique<AuditCommand>();
}

} // namespace mlo::cli
