#include <mlo/data/gitignore.hpp>
#include <mlo/util/file_io.hpp>
#include <sstream>

namespace mlo::data {

std::string gitignore_escape(const std::string& name) {
    std::string out;
    for (char c : name) {
        if (c == '*' || c == '?' || c == '[' || c == '\\')
            out += '\\';
        out += c;
    }
    if (!out.empty() && (out[0] == '#' || out[0] == '!'))
        out.insert(0, "\\");
    if (!out.empty() && out.back() == ' ')
        out.insert(out.size() - 1, "\\");
    return out;
}

Result<bool> ensure_ignored(const std::filesystem::path& dir, const std::string& name) {
    auto path = dir / ".gitignore";
    std::string content;
    std::error_code ec;
    if (std::filesystem::exists(path, ec)) {
        auto text = util::read_file(path);
        if (!text)
            return fail(std::move(text).error());
        content = std::move(*text);
    }
    std::string entry = "/" + gitignore_escape(name);
    std::istringstream lines(content);
    for (std::string line; std::getline(lines, line);)
        if (line == entry)
            return false;
    if (!content.empty() && content.back() != '\n')
        content += '\n';
    content += entry + "\n";
    MLO_TRY(util::write_file_atomic(path, content));
    return true;
}

} // namespace mlo::data
