// CPU profiles of every Node process of a bench cluster, which `--cpu-prof`
// cannot give: Node refuses it in NODE_OPTIONS, the one way to reach the
// processes the supervisor starts. Loaded with --import, it profiles from
// start to exit and writes <script>-<pid>.cpuprofile into
// PARLEY_PROFILE_DIR (the inspector answers synchronously, so 'exit' works).
//
//   PARLEY_PROFILE_DIR=/tmp/prof NODE_OPTIONS="--import $PWD/bench/profile-preload.mjs" npm run bench -- fullpath --runs 1
//   node bench/profile-top.mjs /tmp/prof/chatserver-*.cpuprofile
import { Session } from 'node:inspector';
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

const directory = process.env.PARLEY_PROFILE_DIR;
if (directory) {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  // 200 µs between samples: a 10 s run gives ~50,000 of them.
  session.post('Profiler.setSamplingInterval', { interval: 200 });
  session.post('Profiler.start');
  process.on('exit', () => {
    session.post('Profiler.stop', (error, result) => {
      if (error) return;
      // packages/chatserver/dist/main.js → chatserver
      const script = process.argv[1] ?? 'node';
      const role = basename(dirname(dirname(script))) || basename(script);
      mkdirSync(directory, { recursive: true });
      writeFileSync(join(directory, `${role}-${process.pid}.cpuprofile`), JSON.stringify(result.profile));
    });
  });
}
