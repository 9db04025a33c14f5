#include "command.hpp"

#include <cstdio>

namespace mlo::cli {

// Defined in main.cpp's setup: the help text of a command, exactly what `mlo COMMAND --help` prints.
std::string help_text_for(const std::vector<std::string>& command);

namespace {

class HelpCommand : public Command {
  public:
    void define(CLI::App& app) override {
        app.add_option("command", m_command, "The command (and subcommand) to explain")
            ->option_text("COMMAND [SUBCOMMAND]");
    }

    Result<int> run(Context& context) override {
        (void)context;
        auto text = help_text_for(m_command);
        if (text.empty()) {
            std::string joined;
            for (const auto& word : m_command)
                joined += (joined.empty() ? "" : " ") + word;
            return fail(ErrorCode::usage, "no help for '" + joined + "': not an mlo command");
        }
        std::fputs(text.c_str(), stdout);
        return 0;
    }

  private:
    std::vector<std::string> m_command;
};

} // namespace

std::unique_ptr<Command> make_help_command() {
    return std::make_unique<HelpCommand>();
}

} // namespace mlo::cli
