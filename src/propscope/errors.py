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
    # Profiles (issue 14): E411-E415.
    E_PROFILE = "E411 unknown profile {name!r}: use one of {profiles}."
    E_PROFILE_MISSING = (
        "E412 profile {name!r} is not installed: its model folder {path} is missing. {hint}"
    )
    E_PROFILE_MODEL = (
        "E413 the model folder {path} was trained for profile {trained!r}, not {name!r}: pass "
        "--profile {trained}, or a folder trained for {name!r}."
    )
    E_MODEL_FOLDER = (
        "E414 {source} {path} is not a technique model folder ({missing} missing). Give a "
        "folder written by `propscope train techniques --out DIR`."
    )
    E_FROM_STORE_PROFILE = (
        "E415 retraining profile {name!r} from the store is not supported in this release: its "
        "encoder's base architecture is a training-time download. Use --profile fast."
    )
    # Task 10 entity framing, `propscope eval framing` (issue 16): E420-E424.
    E_TASK10_ROW = (
        "E420 {path}:{line}: {reason}. A mentions row is article_id<TAB>mention<TAB>start<TAB>end "
        "(end inclusive); a gold row adds main_role<TAB>fine_role[<TAB>fine_role...]."
    )
    E_TASK10_ARTICLE = (
        "E421 {path}:{line}: article {article!r} has no file in {documents}. "
        "Give the folder of the subtask-1 documents."
    )
    E_TASK10_OFFSETS = (
        "E422 {path}:{line}: offsets {start}-{end} fall outside article {article!r} "
        "({length} characters). Offsets count every character, \\r included (read with newline='')."
    )
    E_TASK10_ROLE = (
        "E423 {path}:{line}: {reason}. Main roles: Protagonist, Antagonist, Innocent; each fine "
        "role must be one of the 22 (taxonomy/subtask1_roles.tsv)."
    )
    E_TASK10_KEYS = (
        "E424 {path}: the gold file does not hold the same mentions as the mentions file "
        "({reason}). Score against the gold of the same split."
    )
    # Narrative taxonomy evaluation (issue 16): E425-E429.
    E_NARR_GOLD_FIELDS = (
        "E425 {where}: expected 3 tab-separated fields (article_id<TAB>narratives<TAB>subnarratives), "
        "found {found}."
    )
    E_NARR_GOLD_DUPLICATE = "E426 {where}: article {id!r} is listed twice (first on line {first})."
    E_NARR_GOLD_EMPTY = (
        "E427 {where}: article {id!r} has an empty narrative or subnarrative list; an article with "
        "no narrative is written Other<TAB>Other."
    )
    E_NARR_NO_ARTICLES = (
        "E428 --documents {path}: no <article_id>.txt file found there. Give a folder of Task 10 articles."
    )
    E_NARR_GOLD_IDS = (
        "E429 {gold} and {other} hold different articles: {missing} only in the first, {extra} only "
        "in the second (e.g. {example!r}). Score the articles the gold file lists."
    )
    # Narrative catalogue matcher and `eval narratives` (issue 16): E430-E434.
    E_NARRATIVE_LAYER = (
        "E430 the narrative matcher's scoring layer is missing at {path}. Reinstall propscope or "
        "refit it: python -m propscope.training.narrative_matcher --data ../shared/data/euvsdisinfo."
    )
    E_NARRATIVE_CATALOGUE = (
        "E431 the narrative catalogue and its scoring layer disagree on {ids}: refit the layer "
        "(python -m propscope.training.narrative_matcher) after adding or removing a narrative."
    )
    E_NARRATIVE_DATA = "E432 give either --shared or --data, not both ({shared} and {data})."
    E_NARRATIVE_ANALYZER = "E433 eval narratives scores {analyzers}, not {name!r}."
    E_NARRATIVE_EMPTY = "E434 {path}: no EUvsDisinfo case with a summary in the {part} part."
    # Corpus reuse (issue 15): E520-E529.
    E_ENGINE = "E520 unknown alignment engine {engine!r}: use one of {engines}."


class AnnotationError(PropscopeError):
    """An annotation tool's file that cannot be read or matched (issue 18): E700-E739.

    E700-E714: reading and writing the tools' formats; E715-E729: matching a review to the
    stored documents and keeping it as a human layer; E730-E739: retraining on reviews.
    """

    code = "E700"

    def __init__(self, message: str, source: str = "") -> None:
        super().__init__(message)
        self.source = source  # file:record of a bad record an importer yields ("" otherwise)
    # Reading and writing the tools' formats (src/propscope/annotation/): E700-E714.
    E_UNREADABLE = "E700 cannot read {path} as a {tool} export ({reason}). {hint}"
    E_RECORD = "E701 {source}: {reason}. {hint}"
    E_FORMAT = "E702 unknown annotation format {name!r}: use one of {formats}."
    E_OFFSETS = (
        "E703 {source}: span {start}-{end} ({label}) says it covers {quoted!r}, but the text there "
        "is {found!r} (in code points and in UTF-16 units). The offsets do not fit the text; the "
        "record was not imported."
    )
    E_RANGE = (
        "E704 {source}: span {start}-{end} ({label}) is outside the text ({length} characters); "
        "offsets are end-exclusive character offsets."
    )
    E_LABEL = "E705 {source}: {label!r} is not a {layer} label. {layer} labels: {labels}."
    E_LAYER = (
        "E706 {source}: {name!r} is not a propscope layer; use {layers} (the names in the "
        "labelling config or type system propscope exported)."
    )
    E_NO_TEXT = "E707 {source}: the record has no text ({field} is missing or not a string)."
    E_TYPE_SYSTEM = (
        "E708 {source}: no TypeSystem.xml beside it or above it in the export. Export from "
        "INCEpTION in the UIMA CAS XMI format, which writes the type system with the XMI."
    )
    E_XML_TEXT = (
        "E709 document {document} holds {char} at character {position}, which XML 1.0 cannot "
        "carry, so it cannot be exported for INCEpTION. Use --format labelstudio or doccano for it."
    )
    E_NEEDS_OUT = "E710 --format {name} writes a {kind}: give --out FILE."
    E_ZIP_ENTRY = (
        "E711 {path}: zip entry {entry!r} unpacks to more than {limit:,} bytes; an export file "
        "that large is refused (it may be a zip bomb). Export fewer documents per file."
    )
    E_ZIP_TOTAL = (
        "E712 {path}: the zip unpacks to more than {limit:,} bytes in all (at entry {entry!r}); "
        "refused (it may be a zip bomb). Export fewer documents per file."
    )
    E_ZIP_ENTRIES = (
        "E713 {path}: the zip holds more than {limit:,} entries (at {entry!r}); refused. Export "
        "fewer documents per file."
    )
    E_AMBIGUOUS_UNITS = (
        "E703 {source}: span {start}-{end} ({label}) fits the text both as code points ({cp!r}) "
        "and as UTF-16 units ({utf16!r}), and the record's other spans do not settle which the "
        "tool meant; the record was not imported rather than guessed."
    )
    # Matching a review to the stored documents and keeping it as a human layer: E715-E729.
    E_UNKNOWN_DOCUMENT = (
        "E715 {source}: no stored document matches this record ({key}). Analyse or ingest the "
        "article into this store first (or import into the store it was exported from)."
    )
    E_TEXT_DIFFERS = (
        "E716 {source}: document {id}: the text in the file differs from the stored text "
        "(first difference at character {at}), so its offsets would point at other words. "
        "Export the document again from this store and review that copy."
    )
    E_SPAN_RANGE = (
        "E717 {source}: document {id}: span {start}-{end} ({label}) does not fit the stored "
        "text of {length:,} characters (it needs 0 <= start < end <= length). Fix the span in "
        "the tool; propscope never shifts offsets."
    )
    E_SPAN_TEXT = (
        "E718 {source}: document {id}: span {start}-{end} ({label}) covers {stored!r} in the "
        "stored text, but the tool says it covers {given!r}. Fix the span in the tool; "
        "propscope never shifts offsets."
    )
    E_REVIEW_LABEL = (
        "E719 {source}: document {id}: span {start}-{end} has the unknown {layer} label "
        "{label!r}. Use one of: {known}."
    )
    E_REVIEW_LAYER = (
        "E720 {source}: document {id}: span {start}-{end} is on the unknown layer {layer!r}. "
        "Use one of: {known}."
    )
    E_NO_ANNOTATOR = (
        "E721 {source}: the record names no annotator. Pass --annotator NAME to say who "
        "reviewed it."
    )
    E_ANNOTATOR = (
        "E722 {source}: annotator {name!r} is not a usable name ({reason}). Give a short, "
        "printable name with --annotator."
    )
    E_IMPORT_FORMAT = "E723 unknown import format {format!r}: use one of {formats}."
    E_NO_IMPORTERS = (
        "E724 the annotation importers cannot be loaded ({reason}); this installation of "
        "propscope is incomplete. Reinstall it."
    )
    E_NO_LAYERS = (
        "E725 no human layers{annotator} in the store at {url}: import a review first "
        "(`propscope import FILE --format labelstudio --db URL`)."
    )
    E_UNEXPECTED = (
        "E726 {source}: unexpected error while importing this record ({reason}). The other "
        "records were imported; please report this with the file."
    )
    # Retraining on reviews, `propscope train techniques --from-store`: E730-E739.
    E_TRAIN_EMPTY = (
        "E730 the {layers} human layer(s){annotator} in the store mark no technique span, so "
        "there is nothing to train on. Review the technique layer in the tool and import it."
    )
    E_TRAIN_FEW = (
        "E731 only {n} reviewed document(s) in the store: retraining needs at least {need}, one "
        "to train on and one held out to measure the new model on. Review more documents."
    )
    E_TRAIN_LABEL = "E732 reviewed document {id}: {reason}."


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
