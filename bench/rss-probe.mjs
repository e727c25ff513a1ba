// Preloaded into a CLI run (node --import): prints the process's peak RSS at exit on stderr.
process.on('exit', () => process.stderr.write(`\ncertswap-bench-maxrss-kib ${process.resourceUsage().maxRSS}\n`));
