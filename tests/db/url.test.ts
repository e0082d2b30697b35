import { describe, expect, test } from "bun:test";
import { databasePassword, databaseSecrets, maskSecrets, parseDatabaseUrl, redactDatabaseUrl, resolveDatabaseName } from "../../src/db/url.ts";

describe("parseDatabaseUrl", () => {
  test.each([
    ["postgres://u:p@db:5432/prices", { dialect: "postgres", url: "postgres://u:p@db:5432/prices", database: "prices" }],
    ["postgresql://u@db/prices?sslmode=require", { dialect: "postgres", url: "postgresql://u@db/prices?sslmode=require", database: "prices" }],
    ["postgresql+psycopg2://u:p@db:5432/prices", { dialect: "postgres", url: "postgresql://u:p@db:5432/prices", database: "prices" }],
    ["postgres://u:p@db:5432", { dialect: "postgres", url: "postgres://u:p@db:5432" }],
    ["postgres://u:p@db:5432/", { dialect: "postgres", url: "postgres://u:p@db:5432/" }],
    ["mysql://root@127.0.0.1:3306/crypto", { dialect: "mysql", url: "mysql://root@127.0.0.1:3306/crypto", database: "crypto" }],
    ["mysql+pymysql://root:pw@localhost/crypto", { dialect: "mysql", url: "mysql://root:pw@localhost/crypto", database: "crypto" }],
    ["MySQL+mysqldb://root@localhost", { dialect: "mysql", url: "MySQL://root@localhost" }],
    ["mariadb://root@localhost/crypto", { dialect: "mysql", url: "mysql://root@localhost/crypto", database: "crypto" }],
    ["postgres://u@db/My%20Prices", { dialect: "postgres", url: "postgres://u@db/My%20Prices", database: "My Prices" }],
  ])("%s", (input, expected) => {
    expect(parseDatabaseUrl(input)).toEqual(expected as ReturnType<typeof parseDatabaseUrl>);
  });

  test.each([
    ["sqlite:./cryptointellect/cryptointellect.db", "./cryptointellect/cryptointellect.db"],
    ["sqlite:data.db", "data.db"],
    ["sqlite:/var/lib/ci/data.db", "/var/lib/ci/data.db"],
    ["sqlite:///relative.db", "relative.db"],
    ["sqlite:////var/lib/ci/absolute.db", "/var/lib/ci/absolute.db"],
    ["sqlite+pysqlite:///relative.db", "relative.db"],
    ["sqlite::memory:", ":memory:"],
    ["sqlite://", ":memory:"],
  ])("%s is the SQLite file %s", (input, path) => {
    expect(parseDatabaseUrl(input)).toEqual({ dialect: "sqlite", url: `sqlite:${path}`, path });
  });

  test.each([
    ["mongodb://u:hunter22@db/x", /unsupported database URL scheme "mongodb:"/],
    ["oracle+cx_oracle://u:hunter22@db/x", /unsupported database URL scheme "oracle:"/],
    ["hunter22", /has no scheme/],
    ["postgres:///x", /names no host/],
    ["sqlite://host/x.db", /names a host/],
  ])("refuses %s with a clear message that hides the password", (input, message) => {
    expect(() => parseDatabaseUrl(input)).toThrow(message);
    try {
      parseDatabaseUrl(input);
    } catch (error) {
      expect((error as Error).message).not.toContain("hunter22");
    }
  });
});

describe("resolveDatabaseName", () => {
  test("a server URL without a database leads to CryptoIntellectDB", () => {
    expect(resolveDatabaseName(parseDatabaseUrl("postgres://u@db:5432"))).toBe("CryptoIntellectDB");
    expect(resolveDatabaseName(parseDatabaseUrl("mysql://root@db/"))).toBe("CryptoIntellectDB");
  });

  test("a named database is used as named", () => {
    expect(resolveDatabaseName(parseDatabaseUrl("postgres://u@db:5432/prices"))).toBe("prices");
  });
});

describe("passwords", () => {
  test.each([
    ["postgres://user:s3cret@db:5432/x", "postgres://user:***@db:5432/x", "s3cret"],
    ["postgresql+psycopg2://user:p%40ss%2Fw0rd@db/x", "postgresql+psycopg2://user:***@db/x", "p@ss/w0rd"],
    ["mysql://root:p@ss@db/x", "mysql://root:***@db/x", "p@ss"],
    ["mysql://root@db/x", "mysql://root@db/x", undefined],
    ["mysql://root:@db/x", "mysql://root:***@db/x", undefined],
    ["postgres://db:5432/x", "postgres://db:5432/x", undefined],
    ["sqlite:./x.db", "sqlite:./x.db", undefined],
  ])("%s is shown as %s", (url, redacted, password) => {
    expect(redactDatabaseUrl(url)).toBe(redacted);
    expect(databasePassword(url)).toBe(password);
  });

  test("both spellings of an encoded password are masked", () => {
    const url = "postgres://u:p%40ss%2Fw0rd@db/x";
    expect(databaseSecrets(url)).toEqual(["p%40ss%2Fw0rd", "p@ss/w0rd"]);
    expect(maskSecrets("auth failed for p@ss/w0rd via p%40ss%2Fw0rd", url)).toBe("auth failed for *** via ***");
  });
});

describe("passwords in the query", () => {
  test.each([
    ["postgres://u@db/x?password=s3cret", "postgres://u@db/x?password=***"],
    ["postgresql://db/x?sslmode=require&password=s3cret&application_name=ci", "postgresql://db/x?sslmode=require&password=***&application_name=ci"],
    ["mysql+pymysql://root@db/x?PASSWORD=s3cret", "mysql+pymysql://root@db/x?PASSWORD=***"],
    ["postgres://u@db/x?sslpassword=s3cret", "postgres://u@db/x?sslpassword=***"],
    ["postgres://u:first@db/x?password=s3cret", "postgres://u:***@db/x?password=***"],
    ["postgres://u:p@ss@db:5432/x?application_name=a@b&password=s3cret", "postgres://u:***@db:5432/x?application_name=a@b&password=***"],
    ["postgres://u@db/x?password=", "postgres://u@db/x?password="],
    ["postgres://u@db/x?sslmode=require", "postgres://u@db/x?sslmode=require"],
  ])("%s is shown as %s", (url, redacted) => {
    expect(redactDatabaseUrl(url)).toBe(redacted);
  });

  test("every spelling of a query password is a secret, and masked in driver messages", () => {
    const url = "postgres://u@db/x?sslmode=require&password=p%40ss+w0rd";
    expect(databaseSecrets(url)).toEqual(["p%40ss+w0rd", "p@ss+w0rd", "p@ss w0rd"]);
    expect(maskSecrets("auth failed for p@ss w0rd (p%40ss+w0rd)", url)).toBe("auth failed for *** (***)");
    expect(databaseSecrets("postgres://u:one@db/x?password=two")).toEqual(["one", "two"]);
  });
});

describe("the database URL, parsed once", () => {
  test("the config carries the parsed target for the sink and migrate", async () => {
    const { parseConfig } = await import("../../src/config/config.ts");
    const c = parseConfig("save_to_database: true\ndatabase_connection: postgresql+psycopg2://u:p@db:5432/prices\n", "cfg.yml");
    expect(c.database).toEqual(parseDatabaseUrl("postgresql+psycopg2://u:p@db:5432/prices"));
    expect(parseConfig("save_to_database: true\n", "cfg.yml").database).toEqual(parseDatabaseUrl("sqlite:./cryptointellect/cryptointellect.db"));
    // migrate uses the file's connection even with save_to_database off.
    expect(parseConfig("save_to_database: false\ndatabase_connection: mysql://root@db/x\n", "cfg.yml").database?.dialect).toBe("mysql");
  });
});
