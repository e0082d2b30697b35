import { describe, expect, test } from "bun:test";
import { defaultInstanceName } from "../../src/config/cluster.ts";
import { configSecrets, MAX_NAMED_COINS, parseConfig, renderConfig } from "../../src/config/config.ts";
import type { ProcessIdentity } from "../../src/config/cluster.ts";
import { ConfigError } from "../../src/errors.ts";
import type { Env } from "../../src/config/config.ts";
import { ccxtCatalog } from "../../src/exchanges/ccxt-catalog.ts";

const ME: ProcessIdentity = { hostname: "box", pid: 4242 };
const PG = "postgres://ci:s3cretpw@db:5432/prices";

function parse(text: string | undefined, env: Env = {}) {
  return parseConfig(text, "cfg.yml", env, ccxtCatalog, ME);
}

function problems(text: string, env: Env = {}): string[] {
  try {
    parse(text, env);
  } catch (error) {
    if (error instanceof ConfigError) return error.issues.map((i) => `${i.path}: ${i.message}`);
    throw error;
  }
  throw new Error("expected the config to be rejected");
}

describe("config: cluster", () => {
  test("is off by default, named hostname-pid, in an IP group of its own", () => {
    expect(parse(undefined).cluster).toEqual({ enabled: false, databaseUrl: undefined, instance: "box-4242", ipGroup: "box-4242" });
  });

  test("names the instance after the real host and process when no identity is handed in", () => {
    const { instance, ipGroup } = parseConfig(undefined, "defaults").cluster;
    expect(instance).toMatch(/^[A-Za-z0-9._-]{1,64}$/);
    expect(instance).toEndWith(`-${process.pid}`);
    expect(ipGroup).toBe(instance);
  });

  test.each([
    ["box", 7, "box-7"],
    ["my host (2)", 7, "my-host-2-7"],
    ["", 7, "host-7"],
    ["h".repeat(100), 123456, `${"h".repeat(57)}-123456`],
  ])("the default name for host %j and pid %d is %s", (hostname, pid, name) => {
    expect(defaultInstanceName({ hostname, pid })).toBe(name);
    expect(name.length).toBeLessThanOrEqual(64);
  });

  test("reads every field", () => {
    const c = parse(
      `save_to_database: true\ndatabase_connection: ${PG}\ncluster:\n  enabled: true\n  database_connection: postgresql://co:pw@coord/jobs\n  instance: collector-a\n  ip_group: egress-1\n`,
    );
    expect(c.cluster).toEqual({ enabled: true, databaseUrl: "postgresql://co:pw@coord/jobs", instance: "collector-a", ipGroup: "egress-1" });
  });

  test("the coordination database defaults to database_connection", () => {
    expect(parse(`save_to_database: true\ndatabase_connection: ${PG}\ncluster:\n  enabled: true\n`).cluster.databaseUrl).toBe(PG);
  });

  test("the coordination database follows DATABASE_URL when it overrides database_connection", () => {
    const c = parse("save_to_database: true\ndatabase_connection: mysql://root:pw@h/db\ncluster:\n  enabled: true\n", { DATABASE_URL: PG });
    expect(c.cluster.databaseUrl).toBe(PG);
  });

  test("drops a SQLAlchemy +driver from the coordination URL", () => {
    const c = parse("save_to_database: true\ndatabase_connection: postgresql+psycopg2://u:p@db/x\ncluster:\n  enabled: true\n");
    expect(c.cluster.databaseUrl).toBe("postgresql://u:p@db/x");
  });

  test("ip_group defaults to the configured instance name", () => {
    expect(parse("cluster:\n  instance: collector-b\n").cluster).toMatchObject({ instance: "collector-b", ipGroup: "collector-b" });
  });

  test("checks the fields but changes nothing while disabled", () => {
    const c = parse("database_connection: mysql://root:pw@h/db\ncluster:\n  instance: a\n");
    expect(c.cluster).toEqual({ enabled: false, databaseUrl: undefined, instance: "a", ipGroup: "a" });
    expect(c.saveToDatabase).toBe(false);
    expect(problems("cluster:\n  enabled: false\n  instance: 'a b'\n")).toEqual(["cluster.instance: may hold only letters, digits and . _ -"]);
  });

  test("refuses cluster mode without database mode", () => {
    expect(problems(`database_connection: ${PG}\ncluster:\n  enabled: true\n`)).toEqual([
      "cluster.enabled: cluster mode needs save_to_database: true (the instances share the work through the database)",
    ]);
  });

  test.each([
    ["the SQLite default", "save_to_database: true\n", {}, "database_connection is not set, so database mode uses sqlite:./cryptointellect/cryptointellect.db"],
    ["a SQLite file", "save_to_database: true\ndatabase_connection: sqlite:x.db\n", {}, "database_connection is sqlite:x.db"],
    ["MySQL", "save_to_database: true\ndatabase_connection: mysql://root:topsecret@h/db\n", {}, "database_connection is mysql://root:***@h/db"],
    ["MariaDB", "save_to_database: true\ndatabase_connection: mariadb://root:topsecret@h/db\n", {}, "database_connection is mariadb://root:***@h/db"],
    [
      "MySQL from DATABASE_URL",
      `save_to_database: true\ndatabase_connection: ${PG}\n`,
      { DATABASE_URL: "mysql://root:topsecret@h/db" },
      "DATABASE_URL (environment) is mysql://root:***@h/db",
    ],
  ])("refuses cluster mode on %s, naming the store without its password", (_, text, env, store) => {
    const found = problems(`${text}cluster:\n  enabled: true\n  database_connection: ${PG}\n`, env);
    expect(found).toEqual([`cluster.enabled: cluster mode needs PostgreSQL (the coordination database and the store); ${store}`]);
    expect(found.join("\n")).not.toContain("topsecret");
  });

  test("refuses cluster mode with no database at all", () => {
    expect(problems("cluster:\n  enabled: true\n")).toEqual([
      "cluster.enabled: cluster mode needs save_to_database: true (the instances share the work through the database)",
      "cluster.enabled: cluster mode needs PostgreSQL: set database_connection to a postgres:// URL",
    ]);
  });

  test.each([
    ["mysql://root:topsecret@h/db", "must be a PostgreSQL URL (postgres:// or postgresql://), not mysql://root:***@h/db"],
    ["sqlite:coord.db", "must be a PostgreSQL URL (postgres:// or postgresql://), not sqlite:coord.db"],
    ["redis://h:6379", 'unsupported database URL scheme "redis:"'],
    ["postgres://ci:topsecret@", "is not a valid URL"],
  ])("cluster.database_connection %s is refused, even while disabled", (url, message) => {
    const found = problems(`cluster:\n  database_connection: "${url}"\n`);
    expect(found).toHaveLength(1);
    expect(found[0]).toStartWith("cluster.database_connection: ");
    expect(found[0]).toContain(message);
    expect(found[0]).not.toContain("topsecret");
  });

  test.each([
    ["instance", "''", "must not be empty"],
    ["instance", "a".repeat(65), "is longer than 64 characters"],
    ["instance", "collector/a", "may hold only letters, digits and . _ -"],
    ["ip_group", "egress 1", "may hold only letters, digits and . _ -"],
    ["ip_group", "42", "expected string, got number 42"],
  ])("cluster.%s %s is refused", (field, value, message) => {
    expect(problems(`cluster:\n  ${field}: ${value}\n`)).toEqual([`cluster.${field}: ${message}`]);
  });

  test("accepts 64 characters of letters, digits and . _ -", () => {
    const name = `A-z_0.9${"x".repeat(57)}`;
    expect(parse(`cluster:\n  instance: ${name}\n  ip_group: ${name}\n`).cluster.instance).toBe(name);
  });

  test("refuses unknown fields and a wrong type inside cluster", () => {
    expect(problems("cluster:\n  enabled: yes please\n  members: 3\n").sort()).toEqual([
      'cluster.enabled: expected boolean, got the text "yes please"',
      "cluster.members: unknown field",
    ]);
    expect(problems("cluster: true\n")).toEqual(["cluster: expected object, got boolean true"]);
  });

  test("the printed config shows the section with the password redacted", () => {
    const c = parse(
      `save_to_database: true\ndatabase_connection: ${PG}\ncluster:\n  enabled: true\n  database_connection: postgres://co:coordpw@coord/jobs\n  instance: collector-a\n  ip_group: egress-1\n`,
    );
    const text = renderConfig(c);
    expect(text).toContain('cluster:\n  enabled: true\n  database_connection: "postgres://co:***@coord/jobs"\n  instance: "collector-a"\n  ip_group: "egress-1"\n');
    expect(text).not.toContain("coordpw");
    expect(text).not.toContain("s3cretpw");
    expect(configSecrets(c)).toContain("coordpw");
    expect(renderConfig(parse(undefined))).toContain('cluster:\n  enabled: false\n  database_connection: null\n  instance: "box-4242"\n  ip_group: "box-4242"\n');
  });

  test("the printed config reads back as the same cluster section", () => {
    const c = parse(`save_to_database: true\ndatabase_connection: postgres://u@db/x\ncluster:\n  enabled: true\n  instance: a\n`);
    const again = parse(renderConfig(c));
    expect(again.cluster).toEqual(c.cluster);
  });
});

describe("config: list_coins_to_poll size", () => {
  const coins = (n: number) => `[${Array.from({ length: n }, (_, i) => `C${i}`).join(", ")}]`;

  test(`takes up to ${MAX_NAMED_COINS} coins`, () => {
    expect(MAX_NAMED_COINS).toBe(2000);
    expect(parse(`list_coins_to_poll: ${coins(2000)}\n`).coinsToPoll).toHaveLength(2000);
    expect(parse(`list_coins_to_pull: ${coins(1000)}\n`).coinsToPoll).toHaveLength(1000);
  });

  test("refuses one more, naming the field", () => {
    expect(problems(`list_coins_to_poll: ${coins(2001)}\n`)).toEqual(["list_coins_to_poll: must name at most 2000 coins"]);
    expect(problems(`list_coins_to_pull: ${coins(2001)}\n`)).toEqual(["list_coins_to_pull: must name at most 2000 coins"]);
  });
});
