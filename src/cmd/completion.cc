#include "cmd/completion.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <memory>
#include <ostream>
#include <sstream>

#include "base/text.h"

namespace wok::cmd {
namespace {

struct Flag {
  std::string name;  // "--output" or "-o"
  std::string description;
};

struct Command {
  std::string path;  // "" for wok itself, "rollout status"
  std::string description;
  std::vector<std::string> subcommands;
  std::vector<std::string> words;  // what a positional may be: kinds, shells
  std::vector<Flag> flags;
};

// "the kind: project, projects, site, sites" -> its words.
std::vector<std::string> listed_words(const std::string& description) {
  std::vector<std::string> out;
  size_t colon = description.find(": ");
  if (colon == std::string::npos) return out;
  std::istringstream in(description.substr(colon + 2));
  for (std::string word; std::getline(in, word, ',');) {
    while (!word.empty() && word.front() == ' ') word.erase(0, 1);
    if (!word.empty() && word.find(' ') == std::string::npos) out.push_back(word);
  }
  return out;
}

void collect(const CLI::App& app, const std::string& path, std::vector<Command>* out) {
  Command command{path, app.get_description(), {}, {}, {}};
  for (const CLI::Option* option : app.get_options()) {
    if (option->get_positional() && option->nonpositional() == false) {
      std::string name = option->get_name(true, false);
      if (name == "kind" || name == "shell") {
        auto words = listed_words(option->get_description());
        command.words.insert(command.words.end(), words.begin(), words.end());
      }
      continue;
    }
    for (const auto& l : option->get_lnames())
      command.flags.push_back({"--" + l, option->get_description()});
    for (const auto& s : option->get_snames())
      command.flags.push_back({"-" + s, option->get_description()});
  }
  auto subs = app.get_subcommands([](const CLI::App*) { return true; });
  for (const CLI::App* sub : subs) command.subcommands.push_back(sub->get_name());
  out->push_back(command);
  for (const CLI::App* sub : subs)
    collect(*sub, path.empty() ? sub->get_name() : path + " " + sub->get_name(), out);
}

std::string joined(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words) out += (out.empty() ? "" : " ") + w;
  return out;
}

std::string bash_script(const std::vector<Command>& commands) {
  const Command& root = commands.front();
  std::string global;
  for (const auto& f : root.flags) global += " " + f.name;
  std::ostringstream s;
  s << "# bash completion for wok: source <(wok completion bash)\n"
       "_wok() {\n"
       "  local cur=\"${COMP_WORDS[COMP_CWORD]}\" path=\"\" w i\n"
       "  for ((i = 1; i < COMP_CWORD; i++)); do\n"
       "    w=\"${COMP_WORDS[i]}\"\n"
       "    case \"$w\" in -*) continue ;; esac\n"
       "    case \"$path/$w\" in\n";
  for (const auto& c : commands) {
    for (const auto& sub : c.subcommands) {
      std::string next = c.path.empty() ? sub : c.path + " " + sub;
      s << "      " << shell_quote(c.path + "/" + sub) << ") path=" << shell_quote(next) << " ;;\n";
    }
  }
  s << "    esac\n"
       "  done\n"
       "  local words=\"\"\n"
       "  case \"$path\" in\n";
  for (const auto& c : commands) {
    std::vector<std::string> words = c.subcommands;
    words.insert(words.end(), c.words.begin(), c.words.end());
    for (const auto& f : c.flags) words.push_back(f.name);
    std::string all = joined(words);
    if (!c.path.empty()) all += global;
    s << "    " << shell_quote(c.path) << ") words=" << shell_quote(all) << " ;;\n";
  }
  s << "  esac\n"
       "  COMPREPLY=($(compgen -W \"$words\" -- \"$cur\"))\n"
       "}\n"
       "complete -F _wok wok\n";
  return s.str();
}

std::string fish_script(const std::vector<Command>& commands) {
  std::ostringstream s;
  s << "# fish completion for wok: wok completion fish > ~/.config/fish/completions/wok.fish\n"
       "complete -c wok -f\n";
  for (const auto& c : commands) {
    // The condition that the words typed so far are exactly this command.
    std::string condition;
    std::vector<std::string> parts;
    std::istringstream in(c.path);
    for (std::string p; in >> p;) parts.push_back(p);
    if (parts.empty()) {
      condition = "__fish_use_subcommand";
    } else {
      for (const auto& p : parts)
        condition +=
            (condition.empty() ? "" : "; and ") + std::string("__fish_seen_subcommand_from ") + p;
      if (!c.subcommands.empty())
        condition += "; and not __fish_seen_subcommand_from " + joined(c.subcommands);
    }
    std::string n = " -n " + shell_quote(condition);
    for (const auto& sub : c.subcommands) {
      auto it = std::find_if(commands.begin(), commands.end(), [&](const Command& other) {
        return other.path == (c.path.empty() ? sub : c.path + " " + sub);
      });
      s << "complete -c wok" << n << " -a " << sub;
      if (it != commands.end() && !it->description.empty())
        s << " -d " << shell_quote(it->description);
      s << "\n";
    }
    if (!c.words.empty())
      s << "complete -c wok" << n << " -a " << shell_quote(joined(c.words)) << "\n";
    for (const auto& f : c.flags) {
      s << "complete -c wok" << (parts.empty() ? "" : n)
        << (f.name.rfind("--", 0) == 0 ? " -l " + f.name.substr(2) : " -s " + f.name.substr(1));
      if (!f.description.empty()) s << " -d " << shell_quote(f.description);
      s << "\n";
    }
  }
  return s.str();
}

}  // namespace

std::string completion_script(const CLI::App& app, const std::string& shell) {
  std::vector<Command> commands;
  collect(app, "", &commands);
  if (shell == "fish") return fish_script(commands);
  std::string bash = bash_script(commands);
  if (shell == "zsh") {
    return "#compdef wok\n# zsh completion for wok: source <(wok completion zsh)\n"
           "autoload -U +X bashcompinit && bashcompinit\n" +
           bash;
  }
  return bash;
}

void add_completion_command(CLI::App& app, LocalAction& action) {
  auto* command = app.add_subcommand("completion", "Print a shell completion script");
  auto shell = std::make_shared<std::string>();
  command->add_option("shell", *shell, "the shell: bash, zsh, fish")
      ->required()
      ->check(CLI::IsMember({"bash", "zsh", "fish"}));
  command->callback([&app, &action, shell] {
    action = [&app, shell](Io& io) {
      io.out << completion_script(app, *shell);
      return 0;
    };
  });
}

}  // namespace wok::cmd
