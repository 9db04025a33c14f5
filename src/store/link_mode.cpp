#include <mlo/store/link_mode.hpp>
#include <mlo/util/did_you_mean.hpp>
#include <vector>

namespace mlo::store {

std::string to_string(LinkMode mode) {
    switch (mode) {
    case LinkMode::auto_:
        return "auto";
    case LinkMode::reflink:
        return "reflink";
    case LinkMode::hardlink:
        return "hardlink";
    case LinkMode::symlink:
        return "symlink";
    case LinkMode::copy:
        return "copy";
    }
    return "auto";
}

Result<LinkMode> parse_link_mode(std::string_view text) {
    static const std::vector<std::string> k_names = {"auto", "reflink", "hardlink", "symlink", "copy"};
    for (auto mode :
         {LinkMode::auto_, LinkMode::reflink, LinkMode::hardlink, LinkMode::symlink, LinkMode::copy})
        if (to_string(mode) == text)
            return mode;
    std::string suggestion = util::did_you_mean(text, k_names);
    return fail(ErrorCode::input, "unknown link mode '" + std::string(text) + "'" + suggestion +
                                      " (valid: auto, reflink, hardlink, symlink, copy)");
}

} // namespace mlo::store
