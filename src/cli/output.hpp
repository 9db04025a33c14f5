#pragma once

#include <cstdio>
#include <mlo/util/error.hpp>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace mlo::cli {

// The global flags every command shares (SPEC.md section 2).
struct GlobalOptions {
    std::string directory; // -C
    bool json = false;
    bool quiet = false;
    bool verbose = false;
    std::string color = "auto"; // auto | always | never
};

// Where commands write: results to stdout (human text or one JSON document), everything else to
// stderr. Colour only when allowed and the stream is a terminal.
class Output {
  public:
    explicit Output(const GlobalOptions& options);

    bool json() const { return m_json; }
    bool quiet() const { return m_quiet; }
    bool verbose() const { return m_verbose; }
    bool stderr_is_terminal() const { return m_stderr_tty; }

    // One line of the human result on stdout.
    void line(std::string_view text) const;
    // The JSON result: `schema` is added as "mlo.<command>/<version>"; keys come out sorted.
    void json_result(const std::string& schema, nlohmann::json document) const;
    // Diagnostics on stderr; `info` is silenced by -q, `detail` shown only with -v.
    void info(std::string_view text) const;
    void detail(std::string_view text) const;
    void warning(std::string_view text) const;
    void hint(std::string_view text) const;
    void error(const Error& error) const;

    // Wraps text in an ANSI colour when stdout (or stderr) may be coloured.
    enum class Color { red, green, yellow, cyan, bold };
    std::string paint(std::string_view text, Color color, bool for_stderr = false) const;

  private:
    bool m_json, m_quiet, m_verbose;
    bool m_color_stdout, m_color_stderr, m_stderr_tty;
};

// Prints rows as aligned columns on stdout; rows whose `highlight` is true are painted yellow.
void print_table(const Output& out, const std::vector<std::vector<std::string>>& rows,
                 const std::vector<bool>& highlight = {});

// SPEC.md section 3: the one place error codes become exit codes.
int exit_code_for(ErrorCode code);
std::string error_code_name(ErrorCode code);

} // namespace mlo::cli
