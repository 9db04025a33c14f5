#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mlo/core/version.hpp>
#include <mlo/pipeline/environment.hpp>
#include <set>
#include <sstream>
#include <sys/utsname.h>
#include <thread>

namespace mlo::pipeline {

namespace {

std::string first_line_with(const std::string& file, const std::string& prefix) {
    std::ifstream in(file);
    std::string line;
    while (std::getline(in, line))
        if (line.rfind(prefix, 0) == 0) {
            auto colon = line.find(':');
            std::string value = colon == std::string::npos ? line : line.substr(colon + 1);
            value.erase(0, value.find_first_not_of(" \t"));
            return value;
        }
    return {};
}

std::string os_name() {
    std::string pretty;
    std::ifstream in("/etc/os-release");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("PRETTY_NAME=", 0) == 0)
            pretty = line.substr(12);
    if (pretty.size() >= 2 && pretty.front() == '"' && pretty.back() == '"')
        pretty = pretty.substr(1, pretty.size() - 2);
    return pretty;
}

// Runs `command` (fixed strings only, never user input) and returns its first output line.
std::string version_of(const char* command) {
    FILE* pipe = ::popen(command, "r");
    if (pipe == nullptr)
        return {};
    char buffer[256] = {};
    std::string out;
    if (std::fgets(buffer, sizeof buffer, pipe) != nullptr)
        out = buffer;
    ::pclose(pipe);
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r'))
        out.pop_back();
    return out;
}

} // namespace

nlohmann::json capture_environment(const std::vector<std::string>& commands) {
    struct utsname uts {};
    ::uname(&uts);
    nlohmann::json env;
    env["os"] = os_name();
    env["kernel"] = std::string(uts.sysname) + " " + uts.release;
    env["machine"] = uts.machine;
    env["cpu"] = first_line_with("/proc/cpuinfo", "model name");
    env["cores"] = std::thread::hardware_concurrency();
    std::string mem = first_line_with("/proc/meminfo", "MemTotal");
    env["memory_bytes"] = mem.empty() ? 0 : std::stoull(mem) * 1024;
    nlohmann::json gpus = nlohmann::json::array();
    std::error_code ec;
    if (std::filesystem::exists("/proc/driver/nvidia/gpus", ec))
        for (const auto& entry : std::filesystem::directory_iterator("/proc/driver/nvidia/gpus", ec))
            gpus.push_back(first_line_with((entry.path() / "information").string(), "Model"));
    env["gpus"] = gpus;
    nlohmann::json tools = {{"mlo", k_version}};
    // The interpreters the commands name ("python3", "/usr/bin/python3", "python3.11"): each is asked
    // its version. Only plain path-like words are run, never anything with shell syntax.
    std::set<std::string> interpreters;
    for (const auto& command : commands) {
        std::istringstream words(command);
        for (std::string word; words >> word;) {
            std::string base = word.substr(word.rfind('/') == std::string::npos ? 0 : word.rfind('/') + 1);
            bool plain = std::all_of(word.begin(), word.end(), [](char c) {
                return std::isalnum(static_cast<unsigned char>(c)) || c == '/' || c == '.' || c == '_' ||
                       c == '-';
            });
            if (plain && base.rfind("python", 0) == 0 && base.find(".py") == std::string::npos)
                interpreters.insert(word);
        }
    }
    for (const auto& interpreter : interpreters)
        tools[interpreter] = version_of((interpreter + " --version 2>&1").c_str());
    env["tools"] = tools;
    return env;
}

} // namespace mlo::pipeline
