#include "command.hpp"

#include <mlo/serve/serve_model.hpp>
#include <mlo/util/file_io.hpp>

namespace mlo::cli {
namespace {

namespace fs = std::filesystem;

// The bearer token from a file or an environment variable; trailing newlines are not part of it.
Result<std::string> read_token(const std::string& file, const std::string& env, const fs::path& cwd) {
    if (!file.empty() && !env.empty())
        return fail(ErrorCode::usage, "give the token with --token-file or --token-env, not both");
    std::string token;
    if (!file.empty()) {
        auto text = util::read_file(fs::absolute(cwd / file));
        if (!text)
            return fail(std::move(text).error().context("--token-file"));
        token = std::move(*text);
    } else if (!env.empty()) {
        const char* value = std::getenv(env.c_str());
        if (value == nullptr)
            return fail(ErrorCode::usage, "--token-env: the environment variable " + env + " is not set");
        token = value;
    } else {
        return std::string();
    }
    while (!token.empty() && (token.back() == '\n' || token.back() == '\r'))
        token.pop_back();
    if (token.size() < 16)
        return fail(ErrorCode::input, "the bearer token must be at least 16 characters",
                    "generate one with `openssl rand -hex 32`");
    if (token.find_first_of(" \t\r\n") != std::string::npos)
        return fail(ErrorCode::input, "the bearer token must not contain whitespace");
    return token;
}

class ServeCommand : public Command {
  public:
    void define(CLI::App& app) override {
        app.add_option("model", m_ref, "MODEL, MODEL@vX.Y.Z or MODEL#STAGE")->required()->option_text("REF");
        app.add_option("--host", m_host, "Address to listen on (default 127.0.0.1)")->option_text("ADDR");
        app.add_option("-p,--port", m_port, "Port to listen on (default 8080; 0 = any free port)")
            ->check(CLI::Range(0, 65535))
            ->option_text("PORT");
        app.add_option("--workers", m_workers, "Worker processes (default models.M.serve.workers)")
            ->check(CLI::Range(1, 256))
            ->option_text("N");
        app.add_option("--token-file", m_token_file, "Require this bearer token (read from FILE)")
            ->option_text("FILE");
        app.add_option("--token-env", m_token_env, "Require the bearer token in environment variable VAR")
            ->option_text("VAR");
        app.add_option("--tls-cert", m_tls_cert, "Serve HTTPS with this PEM certificate (chain)")
            ->option_text("FILE");
        app.add_option("--tls-key", m_tls_key, "The certificate's PEM private key")->option_text("FILE");
        app.add_option("--ready-file", m_ready_file, "Write {pid, port, url, model, version} here once ready")
            ->option_text("FILE");
        // How `mlo deploy` steers the server it starts; not for people (see deployment_files.hpp).
        app.add_option("--deployment", m_deployment, "")->group("");
    }

    Result<int> run(Context& context) override {
        auto ref = registry::ModelRef::parse(m_ref);
        if (!ref)
            return fail(std::move(ref).error());
        auto token = read_token(m_token_file, m_token_env, context.cwd);
        if (!token)
            return fail(std::move(token).error());
        serve::ServeRequest request;
        request.ref = *ref;
        request.host = m_host;
        request.port = m_port;
        if (m_workers > 0)
            request.workers = m_workers;
        request.token = *token;
        auto absolute = [&](const std::string& path) {
            return path.empty() ? std::string() : fs::absolute(context.cwd / path).string();
        };
        request.tls_cert_file = absolute(m_tls_cert);
        request.tls_key_file = absolute(m_tls_key);
        if (!m_ready_file.empty())
            request.ready_file = absolute(m_ready_file);
        if (!m_deployment.empty())
            request.deployment_dir = absolute(m_deployment);
        const Output& out = context.out;
        MLO_TRY(serve::serve_model(*context.project, request,
                                   [&out](const std::string& event) { out.info(event); }));
        return 0;
    }

  private:
    std::string m_ref, m_host = "127.0.0.1", m_token_file, m_token_env, m_tls_cert, m_tls_key, m_ready_file,
                       m_deployment;
    int m_port = 8080;
    unsigned m_workers = 0;
};

} // namespace

std::unique_ptr<Command> make_serve_command() {
    return std::make_unique<ServeCommand>();
}

} // namespace mlo::cli
