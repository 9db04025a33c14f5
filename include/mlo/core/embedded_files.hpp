#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mlo::core {

// A file of the source tree's `templates/` compiled into the binary.
struct EmbeddedFile {
    std::string_view path; // relative to templates/, e.g. "project/default.yaml"
    std::string_view content;
};

const std::vector<EmbeddedFile>& embedded_files();

// The embedded template at `path`, if there is one.
inline std::optional<std::string_view> embedded_file(std::string_view path) {
    for (const auto& file : embedded_files())
        if (file.path == path)
            return file.content;
    return std::nullopt;
}

} // namespace mlo::core
