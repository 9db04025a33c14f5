#include "output.hpp"

#include <cstdlib>
#include <fmt/core.h>
#include <unistd.h>

namespace mlo::cli {

namespace {
bool color_allowed(const std::string& mode, int fd) {
    if (mode == "always")
        return true;
    if (mode == "never")
        return false;
    const char* no_color = std::getenv("NO_COLOR");
    if (no_color != nullptr && *no_color != '\0')
        return false;
    const char* term = std::getenv("TERM");
    if (term != nullptr && std::string_view(term) == "dumb")
        return false;
    return ::isatty(fd) != 0;
}
} // namespace

Output::Output(const GlobalOptions& options)
    : m_json(options.json), m_quiet(options.quiet), m_verbose(options.verbose),
      m_color_stdout(color_allowed(options.color, STDOUT_FILENO)),
      m_color_stderr(color_allowed(options.color, STDERR_FILENO)),
      m_stderr_tty(::isatty(STDERR_FILENO) != 0) {}

void Output::line(std::string_view text) const {
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fputc('\n', stdout);
}

void Output::json_result(const std::string& schema, nlohmann::json document) const {
    document["schema"] = schema;
    // Invalid UTF-8 (a file name from a foreign filesystem) is replaced rather than aborting.
    std::string text = document.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fputc('\n', stdout);
}

void Output::info(std::string_view text) const {
    if (!m_quiet)
        fmt::print(stderr, "{}\n", text);
}

void Output::detail(std::string_view text) const {
    if (m_verbose)
        fmt::print(stderr, "{}\n", text);
}

void Output::warning(std::string_view text) const {
    fmt::print(stderr, "{} {}\n", paint("mlo: warning:", Color::yellow, true), text);
}

void Output::hint(std::string_view text) const {
    if (!m_quiet)
        fmt::print(stderr, "{} {}\n", paint("hint:", Color::cyan, true), text);
}

void Output::error(const Error& error) const {
    if (m_json) {
        nlohmann::json doc = {{"schema", "mlo.error/1"},
                              {"error",
                               {{"code", error_code_name(error.code)},
                                {"exit_code", exit_code_for(error.code)},
                                {"message", error.message}}}};
        if (!error.hint.empty())
            doc["error"]["hint"] = error.hint;
        fmt::print(stderr, "{}\n", doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
        return;
    }
    fmt::print(stderr, "{} {}\n", paint("mlo: error:", Color::red, true), error.message);
    if (!error.hint.empty())
        fmt::print(stderr, "{} {}\n", paint("hint:", Color::cyan, true), error.hint);
}

std::string Output::paint(std::string_view text, Color color, bool for_stderr) const {
    if (!(for_stderr ? m_color_stderr : m_color_stdout))
        return std::string(text);
    const char* code = "";
    switch (color) {
    case Color::red:
        code = "\033[31m";
        break;
    case Color::green:
        code = "\033[32m";
        break;
    case Color::yellow:
        code = "\033[33m";
        break;
    case Color::cyan:
        code = "\033[36m";
        break;
    case Color::bold:
        code = "\033[1m";
        break;
    }
    return std::string(code) + std::string(text) + "\033[0m";
}

int exit_code_for(ErrorCode code) {
    switch (code) {
    case ErrorCode::failure:
        return 1;
    case ErrorCode::usage:
    case ErrorCode::input:
        return 2;
    case ErrorCode::precondition:
        return 3;
    case ErrorCode::internal:
        return 70;
    }
    return 70;
}

std::string error_code_name(ErrorCode code) {
    switch (code) {
    case ErrorCode::failure:
        return "failure";
    case ErrorCode::usage:
        return "usage";
    case ErrorCode::input:
        return "input";
    case ErrorCode::precondition:
        return "precondition";
    case ErrorCode::internal:
        return "internal";
    }
    return "internal";
}

// Prints rows as aligned columns.
void print_table(const Output& out, const std::vector<std::vector<std::string>>& rows,
                 const std::vector<bool>& highlight) {
    std::vector<size_t> widths;
    for (const auto& row : rows)
        for (size_t i = 0; i < row.size(); ++i) {
            if (widths.size() <= i)
                widths.push_back(0);
            widths[i] = std::max(widths[i], row[i].size());
        }
    for (size_t r = 0; r < rows.size(); ++r) {
        std::string line;
        for (size_t i = 0; i < rows[r].size(); ++i)
            line +=
                (i ? "  " : "") + fmt::format("{:<{}}", rows[r][i], i + 1 < rows[r].size() ? widths[i] : 0);
        bool marked = r < highlight.size() && highlight[r];
        out.line(marked ? out.paint(line, Output::Color::yellow) : line);
    }
}

} // namespace mlo::cli
