// stekctl's online subcommands: talk to stekd's admin API with an admin certificate.
#pragma once

#include <string>

#include "commands.h"
#include "https_client.h"

namespace stek::ctl {

struct OnlineArgs {
  std::string server = "https://127.0.0.1:8443";
  net::ClientTls tls;
  bool json = false;
  int timeout = 10;  // seconds
};

int status(const OnlineArgs& args, Env& env);
int agents(const OnlineArgs& args, Env& env);
// Compromise response: a new secret for the domain; every ticket of the domain stops resuming.
int rotate_domain_secret(const OnlineArgs& args, const std::string& domain, Env& env);
// The deny-list of hosts: action "add" (the host gets 403 at once, its long polls end),
// "remove", or "list" (host unused).
int deny(const OnlineArgs& args, const std::string& action, const std::string& host, Env& env);

}  // namespace stek::ctl
