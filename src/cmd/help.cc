#include "cmd/help.h"

#include <CLI/CLI.hpp>
#include <map>

namespace wok::cmd {
namespace {

const char kGlobalOptions[] =
    "Global options (anywhere on the line):\n"
    "  -n,--namespace,--project PROJECT   the project of the site(s)\n"
    "  --server URL                       the API (default: $WOK_SERVER, the config file)\n"
    "  --token TOKEN                      the API token (default: $WOK_TOKEN, the config file)";

// Keyed by the command's path without "wok".
const std::map<std::string, std::string>& examples() {
  static const std::map<std::string, std::string> table = {
      {"apply",
       "  wok apply -f team-a.yaml\n"
       "  wok apply -f sites/ -n team-a                 # every *.yaml of sites/\n"
       "  cat www.yaml | wok apply -f - -n team-a\n"
       "  wok apply -f www.yaml -n team-a --wait        # until the new revision serves"},
      {"get",
       "  wok get sites                                 # of every project you can see\n"
       "  wok get sites -n team-a -o wide\n"
       "  wok get site www -n team-a -o yaml\n"
       "  wok get sites -n team-a -o name\n"
       "  wok get site www -n team-a -o jsonpath='{.status.revision}'\n"
       "  wok get sites -n team-a -o jsonpath='{.items[*].metadata.name}'\n"
       "  wok get sites -n team-a -w                    # then every change, as it happens\n"
       "  wok get events -n team-a --for site/www       # what happened to it"},
      {"audit",
       "  wok audit                                     # the newest 100 changes\n"
       "  wok audit --user alice -n team-a --limit 20\n"
       "  wok audit -o json | jq '.items[] | select(.decision == \"refused\")'"},
      {"wait",
       "  wok wait site www -n team-a --for=condition=Ready --timeout=2m\n"
       "  wok wait site www -n team-a --for=condition=Ready=False\n"
       "  wok wait site www -n team-a --for=jsonpath='{.status.revision}'=3\n"
       "  wok wait site old -n team-a --for=delete"},
      {"describe", "  wok describe site www -n team-a\n  wok describe project team-a"},
      {"delete",
       "  wok delete site www -n team-a\n"
       "  wok delete site www blog shop -n team-a\n"
       "  wok delete -f team-a.yaml                     # every object of the file\n"
       "  cat www.yaml | wok delete -f - -n team-a\n"
       "  wok delete project team-a"},
      {"rollout",
       "  wok rollout status site www -n team-a\n"
       "  wok rollout history site www -n team-a\n"
       "  wok rollout undo site www -n team-a --to-revision 2\n"
       "  wok rollout restart site www -n team-a"},
      {"rollout history", "  wok rollout history site www -n team-a"},
      {"rollout undo",
       "  wok rollout undo site www -n team-a                  # to the one before the live one\n"
       "  wok rollout undo site www -n team-a --to-revision 2"},
      {"rollout status",
       "  wok rollout status site www -n team-a\n"
       "  wok rollout status site www -n team-a --timeout 10m"},
      {"rollout restart",
       "  wok rollout restart site api -n team-a\n"
       "  wok rollout restart site api -n team-a && wok rollout status site api -n team-a"},
      {"refresh", "  wok refresh site www -n team-a"},
      {"stats", "  wok stats site www -n team-a --minutes 5"},
      {"stats site", "  wok stats site www -n team-a\n  wok stats site www -n team-a --minutes 5"},
      {"logs", "  wok logs site api -n team-a\n  wok logs site api -n team-a -f"},
      {"scale", "  wok scale site api -n team-a --component web --replicas 3"},
      {"token", "  wok token create alice\n  wok token list\n  wok token revoke alice-laptop"},
      {"token create", "  wok token create alice\n  TOKEN=$(wok token create alice)"},
      {"token list", "  wok token list"},
      {"token revoke", "  wok token revoke alice-laptop"},
      {"secret",
       "  wok secret set db PASSWORD=s3cret -n team-a\n"
       "  wok get secrets -n team-a\n"
       "  wok secret get db -n team-a --show-values\n"
       "  wok secret delete db -n team-a"},
      {"secret get", "  wok secret get -n team-a\n  wok secret get db -n team-a --show-values"},
      {"secret delete", "  wok secret delete db -n team-a"},
      {"version", "  wok version"},
      {"ca",
       "  wok ca > wok-ca.pem\n"
       "  curl --cacert wok-ca.pem https://www.demo.localhost:8443/"},
      {"completion",
       "  source <(wok completion bash)\n"
       "  wok completion zsh > \"${fpath[1]}/_wok\"\n"
       "  wok completion fish > ~/.config/fish/completions/wok.fish"},
      {"up",
       "  wok up\n"
       "  wok up --demo\n"
       "  wok up --data /srv/wok --listen 0.0.0.0:80 --api 127.0.0.1:7070"},
      {"operator",
       "  wok operator --leader-elect\n"
       "  wok operator --kubeconfig ~/.kube/config --openshift"},
      {"render",
       "  wok render -f www.yaml -n team-a | kubectl apply -f -\n"
       "  wok render -f sites/ -n team-a > manifests.yaml"},
      {"crds", "  wok crds | kubectl apply -f -"},
  };
  return table;
}

// Commands that never talk to the API: the global options mean nothing there.
bool is_local(const std::string& path) {
  return path == "up" || path == "operator" || path == "completion" || path == "serve" ||
         path == "fetch" || path.rfind("up ", 0) == 0 || path == "crds";
}

void add_footers(CLI::App& command, const std::string& path) {
  auto all = command.get_subcommands([](CLI::App*) { return true; });
  for (CLI::App* sub : all) {
    std::string sub_path = path.empty() ? sub->get_name() : path + " " + sub->get_name();
    std::string footer = sub->get_footer();
    if (footer.find("Example") == std::string::npos) {  // a footer of its own may have none
      auto it = examples().find(sub_path);
      if (it != examples().end())
        footer += (footer.empty() ? "" : "\n\n") + std::string("Examples:\n") + it->second;
    }
    if (!is_local(sub_path)) footer += (footer.empty() ? "" : "\n\n") + std::string(kGlobalOptions);
    sub->footer(footer);
    add_footers(*sub, sub_path);
  }
}

}  // namespace

void add_help_footers(CLI::App& app) { add_footers(app, ""); }

std::string unknown_command_message(const CLI::App& app) {
  const CLI::App* command = &app;
  std::string path = app.get_name();
  for (;;) {
    auto parsed = command->get_subcommands();
    if (parsed.empty()) break;
    command = parsed.front();
    path += " " + command->get_name();
  }
  if (command->get_subcommands([](const CLI::App*) { return true; }).empty()) return "";
  for (const std::string& word : app.remaining(true)) {
    if (word.empty() || word[0] == '-') continue;
    return "error: unknown command \"" + word + "\" for \"" + path + "\"\nRun '" + path +
           " --help' for usage.\n";
  }
  return "";
}

}  // namespace wok::cmd
