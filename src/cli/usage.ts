import { EXTENDED_KEY_USAGES } from '../pki/eku.js';

/** The CLI's help text: the interface is a contract that scripts rely on. */
export const USAGE = `Usage: certswap <command> [options]

Rotate a TLS certificate and key on disk: each pair is written to its own generation
directory, validated there, and activated by one atomic rename of the 'current' symlink.

Commands:
  install  --cert FILE --key FILE [--ca FILE] [--expect-name NAME] [--trial]
                                    stage, then activate
  stage    --cert FILE --key FILE [--ca FILE] [--expect-name NAME]   write and validate only
  import   --from certbot LIVE_DIR | --from lego CERT_DIR NAME | --cert FILE --key FILE
           [--ca FILE] [--expect-name NAME] [--trial]
                                    install the pair certbot or lego obtained (their files are
                                    only read): certbot's live/NAME, lego's certificates/NAME.*
  activate GEN [--trial]            make generation GEN active (validated again first); with
                                    --trial it must be confirmed by commit, or rollback/recover
                                    return to the generation before it
  commit                            confirm the activation on trial
  rollback [--to GEN]               return to the rollback target (or to GEN); ends a trial
  prune    [--keep N]               remove all but the N newest generations (default 3);
                                    never the active one or its rollback target
  status   [--expiring-within D] [--prometheus]
                                    what is active and what every generation holds; with
                                    --expiring-within (14d, 12h...): exit 1 with the reason on
                                    stderr unless the active pair is valid beyond that time;
                                    --prometheus: the store's gauges in Prometheus text format
  verify   [--expect-name NAME] [--served HOST:PORT [--servername NAME]]
                                    check the active pair: present, matching, in validity; with
                                    --served, that the server there presents it (exit 1 if not)
  recover                           start-up repair after a crash; safe to run any time
  agent    --config FILE | --demo [--once]
                                    the renewal agent: keeps certificates fresh (SIGHUP: renew
                                    now); --once: one look at every certificate, then exit
                                    (0: all fine, 1: a renewal failed), for a timer
  renew    --config FILE | --demo [--name NAME] [--dry-run]
                                    renew now, once, and exit; with --dry-run print when each
                                    certificate would be renewed, and why, and renew nothing
  revoke   [--generation N] [--reason R] [--force] (--config FILE [--name NAME] | --directory URL)
                                    ask the ACME CA to revoke a generation's certificate (default:
                                    the active one, which needs --force and is then renewed at once)

Options:
  --dir DIR            the store directory (default: $CERTSWAP_DIR)
  --json               machine-readable output (errors too)
  --from CLIENT        import: certbot or lego
  --trust FILE         stage/install/import/verify: the chain must lead to a CA in FILE
  --require-eku USAGE  stage/install/import/verify: ${EXTENDED_KEY_USAGES.join(' or ')} (repeatable)
  --owner USER         stage/install/import: owner of the files (root or this user)
  --group GROUP        stage/install/import: the consumer's group: key 0640, directories 0710
  --key-mode MODE      stage/install/import: mode of key.pem, bundle.pem, cert.p12 (0600; 0640 with --group)
  --cert-mode MODE     stage/install/import: mode of cert.pem, ca.pem, fullchain.pem (default 0644)
  --format FORMAT      stage/install/import: also write fullchain, bundle or pkcs12 (repeatable)
  --pkcs12-password-file FILE   stage/install/import: the password of cert.p12 (with --format pkcs12)
  --directory-ca FILE  revoke --directory: the PEM the CA's TLS certificate must chain to
  --clock-skew SECS    how far notBefore may be in the future (default 300)
  --lock-timeout SECS  how long to wait for another operation (default 10)
  --log-level LEVEL    pino level for the JSON log on stderr (default: $CERTSWAP_LOG_LEVEL or error)
  -h, --help           this help
  -V, --version        the version

Exit status: 0 success, 1 refused or failed (stderr names the error code), 2 usage error.
`;
