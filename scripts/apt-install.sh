# Sourced by scripts/setup.sh and bench/setup.sh.
# apt_install PACKAGE...: installs Debian packages as root, with a policy-rc.d
# answering 101 so that Debian's maintainer scripts do not start the services
# they install (Parley runs private redis and nginx instances); an existing
# policy is left as it is. Returns apt-get's exit status.
apt_install() {
  local policy=/usr/sbin/policy-rc.d own_policy=no status=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    own_policy=yes
  fi
  {
    DEBIAN_FRONTEND=noninteractive apt-get update -q &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@"
  } || status=$?
  if [ "$own_policy" = yes ]; then rm -f "$policy"; fi
  return "$status"
}
