#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace mlo::pipeline {

// What a run ran on: OS and kernel, CPU model and cores, memory, GPUs (from /proc/driver/nvidia,
// none here), and versions of mlo and of the interpreters the stage commands use (python3 is
// asked only when a command mentions it).
nlohmann::json capture_environment(const std::vector<std::string>& commands);

} // namespace mlo::pipeline
