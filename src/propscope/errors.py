"""One catalogue of coded, one-line, actionable errors (which input, what is wrong, what to do).

Each exception class carries its message templates as constants, so tests can match on them and
users can search a code (E012) in the docs.
"""

from __future__ import annotations


class PropscopeError(Exception):
    """Base of every error propscope raises on purpose."""

    code = "E000"


class IngestError(PropscopeError):
    """An input that cannot become a Document. The batch goes on without it."""

    code = "E010"
    E_EMPTY = "E010 {source}: the file is empty (or only whitespace). Nothing to analyse."
    E_NOT_FOUND = "E011 {source}: no such file or directory. Check the path."
    E_BINARY = (
        "E012 {source}: it looks binary ({reason}). propscope reads text, HTML, JSONL, CSV, WARC and feeds."
    )
    E_TOO_LARGE = (
        "E013 {source}: {size:,} bytes is over the {limit:,}-byte limit. Split the file or raise --max-bytes."
    )
    E_ENCODING = "E014 {source}: cannot decode the text ({reason}). Convert it to UTF-8 or pass --encoding."
    E_MALFORMED = "E015 {source}: malformed {kind} ({reason}). Fix or remove the broken part."
    E_NO_TEXT = "E016 {source}: no article text found ({reason})."
    E_FIELD = (
        "E017 {source}: record has no text field {field!r}. Pass --text-field with the right "
        "column name (found: {found})."
    )
    E_FORMAT = (
        "E018 {source}: unknown input format. propscope reads .txt, .html, .jsonl, .csv, .warc, "
        ".warc.gz, RSS/Atom feeds, URLs and '-' for stdin."
    )
    E_DUPLICATE = "E019 {source}: same text as {first} (document {id}); skipped as a duplicate."
    E_UNEXPECTED = (
        "E030 {source}: unexpected error while reading it ({reason}). Please report this with the file."
    )
    E_NOT_ONE = (
        "E031 {source}: holds {count} documents but load() reads exactly one. Use "
        "iter_documents() or `propscope ingest`."
    )
    E_NO_FILES = "E032 {source}: no files match {glob!r} in this directory. Check --glob."
    E_READ = "E033 {source}: cannot read it ({reason}). Check the path and its permissions."
    # Input read only up to the limit (a pipe, a decompressed stream): its full size is unknown.
    E_OVER_LIMIT = (
        "E013 {source}: over the {limit:,}-byte limit (reading stopped there). Split the input "
        "or raise --max-bytes."
    )
    E_TRUNCATED = (
        "E045 {source}: the archive is cut short in record {number} ({target}, at byte {offset:,}): "
        "{missing:,} of its {length:,} bytes are missing. The records before it were read; "
        "re-download or re-create the archive."
    )
    E_CUT = (
        "E045 {source}: the archive is cut short in record {number} (at byte {offset:,}): it ends "
        "inside that record. The records before it were read; re-download or re-create the archive."
    )
    E_LINK_OUTSIDE = (
        "E046 {source}: skipped, a symbolic link to {target}, outside the folder being read "
        "({root}). Copy it into the folder, or name it on the command line, to read it."
    )
    # A warning (the document is still read), kept in Document.meta["ingest_warnings"].
    E_REPLACED = (
        "E047 {source}: read as {encoding}, with {count:,} undecodable byte{s} replaced by "
        "U+FFFD (\ufffd). If the text looks wrong, pass --encoding with the file's encoding."
    )
    # A warning: the page is read, but without article extraction.
    E_FLAT = (
        "E048 {source}: the page nests elements {depth:,} deep ({elements:,} in all), past what "
        "the article extractor reads, so its whole visible text was taken (no article extraction)."
    )
    E_NUL = (
        "E034 {source}: {field} has a NUL character (\\u0000) at character {at}; propscope "
        "refuses NUL on every store, as PostgreSQL cannot hold it. Remove it and read it again."
    )
    E_SURROGATE = (
        "E035 {source}: {field} has a lone surrogate ({char}) at character {at}, which is not "
        "valid Unicode (often half of an emoji cut in two). Fix or remove that character."
    )
    # {outcome}: "" where the document is refused, "; the field was left out" for a JSONL record.
    E_NUMBER = (
        "E036 {source}: {field} is {value}, which JSON cannot hold{outcome}. Write null for a "
        "missing number, or quote the number as a string."
    )
    # {rest}: "" or "; the 5 lines after it were read as rows of their own".
    E_OPEN_QUOTE = (
        "E037 {source}: the quote opened on line {line} is never closed, so the file ends inside "
        "that cell{rest}. Close the quote (inside a quoted cell, write a quote as \"\")."
    )
    # Warnings (the record is still read), kept in Document.meta["ingest_warnings"].
    E_SURROGATE_REPLACED = (
        "E038 {source}: {field} had {count:,} lone surrogate{s} (first at character {at}), not "
        "valid Unicode (often an emoji cut in two); replaced by U+FFFD (\ufffd)."
    )
    E_NUL_REMOVED = (
        "E039 {source}: {field} had {count:,} NUL character{s} (first at character {at}), which "
        "no store may hold; removed."
    )

    def __init__(self, message: str, source: str = "") -> None:
        super().__init__(message)
        self.source = source
        self.code = message.split(" ", 1)[0] if message.startswith("E") else self.code


class FetchError(IngestError):
    """A URL that could not be fetched, or that propscope refused to fetch."""

    code = "E020"
    E_SCHEME = "E020 {url}: only http and https URLs can be fetched."
    E_PRIVATE = (
        "E021 {url}: refused, {host} resolves to a private, loopback or link-local address "
        "({address}). Pass --allow-private-urls if you mean it."
    )
    E_UNREACHABLE = "E022 {url}: cannot fetch ({reason}). Check the address and your connection."
    E_STATUS = "E023 {url}: the server answered HTTP {status}."
    E_CONTENT_TYPE = "E024 {url}: content type {content_type!r} is not a web page, text or feed."
    E_REDIRECTS = "E025 {url}: more than {limit} redirects."
    E_BAD_URL = "E026 {url}: not a valid URL ({reason})."
    E_TOO_LARGE = (
        "E027 {url}: the response is over the {limit:,}-byte fetch limit. Save the page and "
        "read the file instead."
    )
    E_LINK_LOCAL = (
        "E028 {url}: refused, {host} resolves to a link-local or cloud-metadata address "
        "({address}), which --allow-private-urls does not open. Pass --allow-link-local-urls "
        "if you mean it."
    )
    E_DEADLINE = (
        "E029 {url}: no complete answer within the {deadline:g} s fetch deadline (resolving, "
        "connecting, redirects and download together). Try again later, or raise --fetch-deadline."
    )


class SpanError(PropscopeError):
    code = "E100"
    E_RANGE = (
        "E100 span [{start}, {end}) is outside the text (length {length}); offsets are "
        "end-exclusive character indices into Document.text."
    )
    E_TEXT = "E101 span [{start}, {end}) does not cover the text it claims ({text!r})."


class SchemaError(PropscopeError):
    code = "E110"
    E_VERSION = "E110 schema {found!r} is not {want!r}: re-export the file with this propscope."


class AnalyzerError(PropscopeError):
    code = "E200"
    E_UNKNOWN = "E200 no analyser named {name!r}. Available: {available}."
    E_REQUIRES = (
        "E201 analyser {name!r} needs {missing} from an earlier analyser; add one that produces "
        "it before {name!r} in --analyzers."
    )
    E_OUTPUT = "E202 analyser {name!r} returned {got} results for {want} documents."
    E_LOAD = "E203 analyser {name!r} could not be loaded ({reason})."
    E_MODEL = (
        "E204 model files for {name!r} are missing at {path}. Reinstall propscope or run "
        "`propscope train {name}`."
    )


class StoreError(PropscopeError):
    code = "E300"
    E_CONNECT = "E300 cannot open the store at {url} ({reason})."
    E_NOT_FOUND = "E301 no document with id {id!r} in the store. `propscope list` shows the ids."
    E_AMBIGUOUS = "E302 id prefix {id!r} matches {count} documents: give more characters."
    E_BACKEND = (
        "E303 {url}: propscope stores in SQLite (sqlite:///PATH) or PostgreSQL "
        "(postgresql+psycopg://USER:PASSWORD@HOST/DATABASE)."
    )
    E_TEXT_CHANGED = (
        "E304 document {id} is already stored with a different text (same id, other whitespace "
        "or encoding); its spans would point into the wrong text. Analyse the stored text "
        "(`propscope show {id}`) or delete the document first."
    )
    E_DATE = "E305 {value!r} is not an ISO 8601 date or time (e.g. 2022-01-05 or 2022-01-05T10:00Z)."
    E_WRITE = (
        "E306 cannot write to the store at {url} ({reason}); that save was rolled back, so "
        "none of the documents it held were stored."
    )
    E_NO_ANALYZER = (
        "E307 result for document {id} has annotations but no analyser names in "
        "Result.analyzers, so they cannot be stored by analyser version."
    )
    E_JSON = (
        "E309 document {id}: {what} cannot be stored as JSON ({reason}). Analysers must return "
        "JSON-compatible stats and documents JSON-compatible meta."
    )
    E_NEWER = (
        "E308 the store at {url} has schema revision {revision!r}, which this propscope does "
        "not know: it was written by a newer propscope. Upgrade propscope."
    )
    E_JOB_WRITE = (
        "E315 cannot record job {id} in the store at {url} ({reason}). The job was not queued; "
        "retry when the store answers."
    )
    E_MEMORY_STORE = (
        "E316 {url} is an in-memory SQLite database, which the server's analysis worker "
        "processes cannot open. Serve a file: --db sqlite:///PATH."
    )

    def __init__(self, message: str) -> None:
        super().__init__(message)
        # The code the message carries (E306, E309…), so a failure record says which one it is.
        self.code = message.split(" ", 1)[0] if message.startswith("E") else self.code


class UsageError(PropscopeError):
    """Bad command-line use: exit code 2."""

    code = "E400"
    E_GLOB = (
        "E410 --glob {glob!r} must be a relative pattern inside the folder being read (no "
        "leading '/', no '..'), e.g. '*.txt' or 'news/*.html'."
    )
    E_RANGE = "E405 {option} must be {bound} (got {value})."
    E_OUTPUT = "E406 cannot write {option} {path} ({reason}). Give a file in an existing, writable folder."
    # Corpus reuse (issue 15): E520-E529.
    E_ENGINE = "E520 unknown alignment engine {engine!r}: use one of {engines}."


class WebError(PropscopeError):
    """A refused or failed web/API request; `status` is the HTTP status it is answered with."""

    code = "E600"
    E_INVALID = "E600 invalid request: {reason}."
    E_AUTH_REQUIRED = (
        "E601 this needs an API token: send 'Authorization: Bearer TOKEN' (create one with "
        "`propscope tokens create --role analyst`; reading needs reader, analysing analyst)."
    )
    E_BAD_TOKEN = "E602 the API token is unknown or revoked. Create a new one with `propscope tokens create`."
    E_ROLE = "E603 this needs the {need} role; your token has {have}. Ask an admin for an {need} token."
    E_CSRF = "E604 the form's CSRF token is missing or stale. Reload the page and submit again."
    E_NOT_FOUND = "E605 nothing at {path}. The API is described at /api/openapi.json."
    E_TOO_LARGE = "E606 the request body is over the {limit:,}-byte limit. Send a shorter article."
    E_TIMEOUT = "E607 the analysis took longer than {seconds:g} s and was abandoned. Try a shorter text."
    E_BUSY = "E608 the server is busy analysing other articles. Retry in a few seconds."
    E_NO_JOB = (
        "E609 no job with id {id!r} in this store (the newest jobs are kept, finished or not; "
        "check the id in the 202 answer)."
    )
    E_ONE_SOURCE = "E610 give exactly one of 'text', 'html' or 'url' (got {got})."
    E_MEDIA = "E612 send the body as application/json."
    E_HOST = "E613 host {host!r} is not allowed; open the workbench at http://127.0.0.1:PORT/."
    E_BATCH = "E614 a batch holds 1 to {limit} articles (got {got})."
    E_METHOD = "E615 method {method} is not allowed on {path}."
    E_WORKER = (
        "E625 the analysis worker stopped ({reason}) while analysing this article, so it was not "
        "stored; the server goes on. Send a shorter text, or report it if it keeps happening."
    )
    E_RESTARTS = (
        "E626 the server stopped {count} times while this article was being analysed, so it is "
        "not retried again. Send it on its own to see what goes wrong."
    )
    E_SHUTDOWN = "E627 the server is shutting down; this analysis was not run. Retry when it is back."
    E_RATE = (
        "E616 too many requests {who}: the limit is {limit} a minute (the server operator's "
        "setting). Retry in {seconds} s."
    )
    E_BOTH = (
        "E617 send either 'documents' (a batch) or one article's fields, not both (got "
        "'documents' and {fields})."
    )
    E_BAD_HOST = (
        "E618 the Host header {host!r} is malformed: it must be a host name or address with an "
        "optional :port, nothing else."
    )
    E_CHARACTER = (
        "E619 {where} holds {char} at character {position}, {why}. Send valid Unicode text "
        "without it."
    )
    E_CSRF_ORIGIN = (
        "E620 this form was posted from another site ({origin}); the workbench only accepts "
        "its own forms. Open it at its own address and submit again."
    )

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status
        self.code = message.split(" ", 1)[0]
