#include <cerrno>
#include <fcntl.h>
#include <mlo/data/gitignore.hpp>
#include <mlo/util/file_io.hpp>
#include <sstream>
#include <sys/file.h>
#include <unistd.h>

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
    // Two mlo processes tracking data in one directory both read, modify and rewrite this file;
    // unserialised, one entry was lost (two concurrent `mlo track`s lost ~1 in 4), and the data
    // then showed up in `git add -A`. An flock on the directory itself serialises the update and
    // is released by the kernel if the process dies, so a crash leaves no stale lock behind.
    util::UniqueFd dir_lock(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dir_lock)
        while (::flock(dir_lock.get(), LOCK_EX) != 0 && errno == EINTR) {
        }
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
