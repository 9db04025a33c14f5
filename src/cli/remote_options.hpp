#pragma once

#include "command.hpp"
#include "transfer_scope.hpp"

#include <memory>
#include <mlo/remote/remote.hpp>
#include <string>
#include <vector>

namespace mlo::cli {

// The flags push, pull and fetch share: which remote, how many transfers, and what to move.
struct RemoteOptions {
    std::string remote;
    unsigned jobs = 0;
    std::vector<std::string> targets; // PATH... and MODEL@v
    std::vector<std::string> runs;
    bool all_commits = false;

    void define(CLI::App& app, const std::string& verb);
    // The request, with paths made project-relative.
    Result<ScopeRequest> request(Context& context) const;
    // Opens the chosen remote (with -j applied).
    Result<std::unique_ptr<remote::Remote>> open(Context& context) const;
};

// Prints up to ten ids of a list on stderr, then how many more.
void print_some(const Output& out, const std::string& title, const std::vector<std::string>& items);

} // namespace mlo::cli
