#pragma once
// Where the client finds its API server and token: flags, then the
// environment (WOK_SERVER, WOK_TOKEN), then the config file that `wok up`
// writes (server: ..., token: ...).
#include <string>

namespace wok::cmd {

struct ClientConfig {
  std::string server;
  std::string token;
};

inline constexpr char kDefaultServer[] = "http://127.0.0.1:7070";
inline constexpr char kNoTokenError[] =
    "no token: run `wok up` on this machine, or pass --token / set WOK_TOKEN";

// $WOK_CONFIG if set, else $HOME/.config/wok/config.yaml.
std::string config_path();

// Reads a config file. A missing file is not an error (fields stay empty);
// an unreadable or malformed one is, with the file and line in *error.
bool load_config(const std::string& path, ClientConfig* out, std::string* error);

// Writes the file atomically with mode 0600, creating its directory (0700).
bool write_config(const std::string& path, const ClientConfig& config, std::string* error);

// Secrets (the client config, `wok up`'s admin token) are never readable by
// anyone else, not even for an instant: the text goes to a new file created
// 0600 (O_EXCL, O_NOFOLLOW) beside `path`, then renamed over it.
bool write_secret_file(const std::string& path, const std::string& text, std::string* error);

// Makes `dir` (its parents as usual) created 0700 by mkdir itself; an
// existing one is narrowed to 0700. For directories that hold secrets.
bool make_private_directory(const std::string& dir, std::string* error);

// flags > WOK_SERVER/WOK_TOKEN > config file > kDefaultServer (token may stay
// empty: commands that need one report kNoTokenError). The file is read only
// when flags and environment leave something unset. The server URL gets
// "http://" if it has no scheme and loses trailing slashes.
bool resolve_config(const ClientConfig& flags, ClientConfig* out, std::string* error);

// "127.0.0.1:7070/" -> "http://127.0.0.1:7070".
std::string normalize_server_url(std::string url);

}  // namespace wok::cmd
