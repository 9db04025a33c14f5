#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace mlo::util {

// Edit distance (insert, delete, substitute, swap of neighbours) between two strings.
size_t edit_distance(std::string_view a, std::string_view b);

// The candidate closest to `word` if it is close enough to be a plausible typo, else "".
std::string closest_match(std::string_view word, const std::vector<std::string>& candidates);

// " (did you mean 'x'?)" or "" — appended to error messages about unknown names.
std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates);

} // namespace mlo::util
