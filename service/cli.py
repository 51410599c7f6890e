"""`nianbao`: the command line. Messages for people are Chinese; exit codes are for scripts.

Exit codes: 0 success, 2 bad input, 3 a report read only in part (fields missing),
4 the vector store or the task queue (Redis) cannot be reached;
`check` exits 1 when it finds an error-severity problem.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from contextlib import contextmanager
from enum import Enum
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

# Nianbao uses no pydantic plugin, and without this every start would read the metadata of every
# installed package looking for one (~20 ms of a ~0.3 s `nianbao extract`). Set the variable to
# choose otherwise.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")

import typer  # noqa: E402 (after the line above, like everything that may build a pydantic model)

from service import pipeline
from service.ingest import IMAGE_SUFFIXES, MAX_BYTES
from service.paths import default_data_dir
from service.report import FlatInputError, Report, report_from_flat

if TYPE_CHECKING:
    from rich.console import Console

app = typer.Typer(add_completion=False, no_args_is_help=True, help="政府信息公开工作年度报告：抽取、检查、评测")


@cache
def stderr_console() -> "Console":
    from rich.console import Console

    return Console(stderr=True)


class _Stderr:
    """`err.print(…)` and the like on the stderr console, which (with rich) is made on first use:
    a command that succeeds quietly never imports rich."""

    def __getattr__(self, name: str):
        return getattr(stderr_console(), name)


err = _Stderr()


def stdout_console() -> "Console":
    from rich.console import Console

    return Console()

EXIT_FOUND_ERRORS = 1
EXIT_BAD_INPUT = 2
EXIT_PARTIAL = 3


class CheckFormat(str, Enum):
    text = "text"
    json = "json"


class LLMMode(str, Enum):
    auto = "auto"
    off = "off"
    only = "only"


class OutputFormat(str, Enum):
    json = "json"
    flat = "flat"
    table = "table"


def fail(message: str, code: int = EXIT_BAD_INPUT) -> NoReturn:
    err.print(f"[red]错误：[/red]{message}", highlight=False)
    raise typer.Exit(code)


def read_input(path: Path) -> bytes:
    if not path.exists():
        fail(f"文件不存在：{path}")
    if not path.is_file():
        fail(f"不是文件：{path}")
    size = path.stat().st_size
    if size > MAX_BYTES:
        fail(f"文件过大（{size / 1048576:.1f} MB），上限为 {MAX_BYTES / 1048576:.0f} MB")
    return path.read_bytes()


def llm_factory(mode: "LLMMode", progress=None):
    """The model for `--llm`: configured by NIANBAO_LLM_* or the bundled local one, made on demand;
    `progress` (a service.llm.progress.ConsoleProgress) is told what the model is doing."""
    if mode is LLMMode.off:
        return None

    def make():  # the settings and the model client are read when the rules leave a gap, not before
        from service.llm.provider import factory
        from service.settings import Settings

        settings = Settings()
        return factory(settings.llm_config(), settings.data_dir, listener=progress)

    from service.llm.provider import Deferred

    return Deferred(make)


def extract_path(path: Path, mode: "LLMMode | None" = None) -> Report:
    return _extract(read_input(path), path.name, mode or LLMMode.off)


def extract_photos(paths: list[Path], mode: LLMMode) -> Report:
    """Photos or scanned images of one report's pages, a file each, in page order."""
    from service.ingest import IngestError
    from service.ingest.image import one_scan

    if not all(path.suffix.lower() in IMAGE_SUFFIXES for path in paths):
        fail("多个文件只能是同一份报告各页的照片或扫描图片（.png .jpg .tif 等），请按页序列出；其他格式每次一个文件")
    try:
        data = one_scan([(read_input(path), path.name) for path in paths])
    except IngestError as exc:
        logging.getLogger("nianbao").info("rejected photos %s: %s", paths, exc.detail)
        fail(exc.message)
    return _extract(data, f"{paths[0].stem}.tiff", mode)


def _extract(data: bytes, name: str, mode: LLMMode) -> Report:
    from service.llm.progress import ConsoleProgress

    progress = ConsoleProgress(stderr_console) if mode is not LLMMode.off else None
    try:
        if mode is LLMMode.only:
            return pipeline.read_llm_only(data, name, llm_factory(mode, progress))[1]
        return pipeline.extract_bytes(data, name, llm_factory(mode, progress))
    except pipeline.InputError as exc:
        logging.getLogger("nianbao").info("rejected %s: %s", name, exc)
        fail(exc.message)
    finally:
        if progress is not None:
            progress.close()


@app.callback()
def main(verbose: bool = typer.Option(False, "--verbose", "-v", help="输出英文日志")) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)


@app.command("extract")
def extract_command(
    files: list[Path] = typer.Argument(..., help="报告文件：.txt .html .docx .md .pdf 或图片；一份报告各页的照片可按页序依次列出", show_default=False),
    output: OutputFormat = typer.Option(OutputFormat.json, "--format", "-f", help="json：含出处的完整结果；flat：gold.json 格式；table：终端表格"),
    llm: LLMMode = typer.Option(LLMMode.auto, "--llm", help="auto：规则优先，大模型只补规则读不到的；off：只用规则；only：整份报告交给大模型（对照基线）"),
) -> None:
    """抽取一份报告的全部字段。"""
    report = extract_path(files[0], llm) if len(files) == 1 else extract_photos(files, llm)
    if output is OutputFormat.flat:
        print(json.dumps(report.flat(), ensure_ascii=False, indent=1))
    elif output is OutputFormat.json:
        print(report.model_dump_json(indent=1, exclude_none=True))
    else:
        from service.tables_view import print_report

        print_report(report, stdout_console())
    if report.llm is not None:  # what the model read, or why it read nothing more
        cached = f"（另 {report.llm.cached} 问用了缓存的回答）" if report.llm.cached else ""
        err.print(f"大模型（{report.llm.model}）：{report.llm.calls} 次调用{cached}，补读 "
                  f"{sum(len(r.accepted) for r in report.llm.rounds)} 项" + (f"；{report.llm.note}" if report.llm.note else ""),
                  highlight=False, soft_wrap=True)
    for warning in (w for w in report.warnings if "大模型" in w):
        err.print(f"[yellow]提示：[/yellow]{warning}", highlight=False, soft_wrap=True)
    if report.missing:
        err.print(f"[yellow]警告：[/yellow]报告不完整，{len(report.missing)} 个字段未找到："
                  f"{'、'.join(report.missing[:12])}{' …' if len(report.missing) > 12 else ''}", highlight=False)
        for table in report.incomplete:
            verb = "未读出" if not table.read else "只读出部分"
            err.print(f"  {verb}{table.name}（{table.read}/{table.expected}）：{table.reason}", highlight=False)
        raise typer.Exit(EXIT_PARTIAL)


def load_report(path: Path) -> Report:
    """A report file to extract, or a flat JSON in the gold.json shape."""
    if path.suffix.lower() != ".json":
        return extract_path(path)
    try:
        return report_from_flat(json.loads(read_input(path).decode("utf-8-sig")))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        fail(f"JSON 格式错误：{exc}")
    except FlatInputError as exc:
        fail(str(exc))


@app.command("check")
def check_command(
    input_path: Path = typer.Argument(..., metavar="INPUT", help="报告文件，或 gold.json 格式的 JSON"),
    previous: Path | None = typer.Option(None, "--previous", help="同一机关上一年度的报告，用于跨年检查"),
    output: CheckFormat = typer.Option(CheckFormat.text, "--format", "-f", help="text 或 json"),
) -> None:
    """检查报告：勾稽关系、正文与表格、空白、模板、跨年。有错误时退出码为 1。"""
    from service.check import check, has_errors
    from service.check.view import print_findings

    report = load_report(input_path)
    findings = check(report, load_report(previous) if previous else None)
    if output is CheckFormat.json:
        print(json.dumps({"findings": [f.model_dump() for f in findings]}, ensure_ascii=False, indent=1))
    else:
        print_findings(findings, stdout_console())
    if has_errors(findings):
        raise typer.Exit(EXIT_FOUND_ERRORS)


llm_app = typer.Typer(help="本地大模型")
app.add_typer(llm_app, name="llm")


@llm_app.command("serve")
def llm_serve(port: int = typer.Option(8081, help="端口"),
              data_dir: Path = typer.Option(default_data_dir(), "--data-dir", envvar="NIANBAO_DATA_DIR"),
              api_key: str | None = typer.Option(None, "--api-key", envvar="NIANBAO_LLM_SERVER_KEY",
                                                 help="只接受携带此密钥的请求")) -> None:
    """启动随包附带的本地模型（OpenAI 兼容接口，127.0.0.1）。"""
    from service.llm import local

    if not local.installed():
        fail("未安装本地模型：请运行 make test 或 make serve 安装 llama-cpp-python 与模型包")
    process, config = local.start(data_dir, port, api_key)
    err.print(f"本地模型已启动：{config.base_url}（模型 {config.model}），按 Ctrl+C 停止", highlight=False)
    try:
        process.wait()
    except KeyboardInterrupt:
        process.terminate()


def baseline_llm():
    """The model for `eval --llm-only`, made now: the baseline needs it for every report."""
    made = llm_factory(LLMMode.auto)()
    if made is None:
        fail("未配置大模型（NIANBAO_LLM_*），也未安装本地模型，无法运行 --llm-only 对照")
    return (lambda: made), made.config.model


@app.command("eval")
def eval_command(
    gold_dirs: list[Path] = typer.Argument(..., help="gold 目录：含若干 <id>/gold.json 与 source.*"),
    modalities: str = typer.Option("source,text,html,docx", help="输入形态，逗号分隔：source,text,tsv,lines,html,docx,pdf,scan200,scan150,photo_mild,photo_moderate,photo_severe，及扁平文本 flat_<形态>（flat 表示全部扁平文本形态）"),
    out: Path | None = typer.Option(None, "--out", help="输出目录：写入 report.json、report.md、report.html"),
    against: Path | None = typer.Option(None, "--against", help="上一次的 report.json：准确率下降时退出码为 1"),
    mutation_count: int = typer.Option(200, "--mutations", help="每份 gold 报告的检查器变异数（0 不运行）"),
    llm_only: bool = typer.Option(False, "--llm-only", help="同时运行对照基线：整份报告一次交给大模型（NIANBAO_LLM_* 或本地模型），"
                                  "流水线也在规则读不到时调用该模型；本地小模型每份报告需数分钟"),
) -> None:
    """用 gold 报告评测抽取与检查。"""
    from eval.output import print_summary, write
    from eval.suite import MODALITIES, evaluate, regressions

    names = [m.strip() for m in modalities.split(",") if m.strip()]
    chosen = tuple(dict.fromkeys(x for m in names for x in ([f for f in MODALITIES if f.startswith("flat_")]
                                                             if m == "flat" else [m])))
    unknown = [m for m in chosen if m not in MODALITIES]
    if unknown or not chosen:
        fail(f"未知的输入形态：{'、'.join(unknown) or '（空）'}；可选：{','.join(MODALITIES)}")
    for directory in gold_dirs:
        if not directory.is_dir():
            fail(f"不是目录：{directory}")
    previous = json.loads(read_input(against).decode("utf-8")) if against else None
    llm, model = baseline_llm() if llm_only else (None, None)
    result = evaluate(gold_dirs, chosen, mutation_count, show_progress=err.is_terminal, llm=llm, llm_model=model)
    if not result["by_report"]:
        fail("没有找到 gold 报告（<id>/gold.json）")
    print_summary(result, stdout_console())
    if out:
        for path in write(result, out):
            err.print(f"已写入 {path}", highlight=False)
    if previous:
        dropped = regressions(result, previous)
        for line in dropped:
            err.print(f"[red]准确率下降：[/red]{line}", highlight=False)
        if dropped:
            raise typer.Exit(EXIT_FOUND_ERRORS)


@app.command("serve")
def serve_command(
    host: str = typer.Option("127.0.0.1", help="监听地址"),
    port: int = typer.Option(8000, help="端口"),
    data_dir: Path = typer.Option(default_data_dir(), "--data-dir", envvar="NIANBAO_DATA_DIR", help="数据目录"),
) -> None:
    """启动服务与网页。"""
    import uvicorn

    from service.api import create_app
    from service.settings import Settings

    settings = Settings(data_dir=data_dir)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    if settings.broker_url:  # reports go to Celery workers: say so now if Redis is not there
        reachable_cluster(settings)
    err.print(f"Nianbao 服务：http://{host}:{port}  数据目录：{settings.data_dir.resolve()}", highlight=False)
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info")


EXIT_STORE_UNAVAILABLE = 4


def open_vector_store(data_dir: Path, create: bool):
    """The store the settings name; None when the embedded one does not exist yet and `create` is off."""
    from service.settings import Settings
    from service.store import StoreUnavailable, open_store

    settings = Settings(data_dir=data_dir)
    if not settings.chroma_url and not create and not settings.chroma_dir.exists():
        err.print(f"[yellow]提示：[/yellow]本地向量库 {settings.chroma_dir} 不存在，未检索往年第五部分；"
                  "可先运行 nianbao index 存入往年报告", highlight=False, soft_wrap=True)
        return None
    try:
        store, warning = open_store(settings.chroma_dir, settings.chroma_url, settings.chroma_fallback)
    except StoreUnavailable as exc:
        fail(exc.message, EXIT_STORE_UNAVAILABLE)
    if warning:
        err.print(f"[yellow]警告：[/yellow]{warning}", highlight=False, soft_wrap=True)
    return store


def report_files(paths: list[Path]) -> list[Path]:
    """Files as given, directories expanded (recursively) to the formats a loader reads."""
    from service.ingest import LOADERS

    found = []
    for path in paths:
        if path.is_dir():
            found += sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in LOADERS)
        elif path.is_file():
            found.append(path)
        else:
            fail(f"文件或目录不存在：{path}")
    return found


def index_one(store, path: Path) -> str:
    """Extract, check and store one report; a Chinese line saying what happened."""
    from service.check import check
    from service.draft.facts import NoFiguresError, collect

    if path.stat().st_size > MAX_BYTES:
        raise pipeline.InputError(f"文件过大，上限为 {MAX_BYTES / 1048576:.0f} MB")
    report = load_flat(path) if path.suffix.lower() == ".json" else pipeline.extract_bytes(path.read_bytes(), path.name)
    findings = check(report)
    try:
        facts = collect(report, None, findings)
    except NoFiguresError as exc:
        raise pipeline.InputError(exc.message) from exc
    done = store.index(report, findings, facts)
    return f"{'已替换' if done.replaced else '已索引'} {done.agency or '（机关不详）'} {done.year or ''} 年：" \
           f"{done.passages} 段正文，{done.findings} 条事实与检查结果"


def load_flat(path: Path) -> Report:
    try:
        return report_from_flat(json.loads(path.read_bytes().decode("utf-8-sig")))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise pipeline.InputError(f"JSON 格式错误：{exc}") from exc
    except FlatInputError as exc:
        raise pipeline.InputError(str(exc)) from exc


@app.command("index")
def index_command(
    paths: list[Path] = typer.Argument(..., help="报告文件或目录（目录内的报告逐个索引），也可为 gold.json 格式的 JSON"),
    data_dir: Path = typer.Option(default_data_dir(), "--data-dir", envvar="NIANBAO_DATA_DIR", help="数据目录"),
) -> None:
    """抽取报告并存入向量库（各部分正文、事实与检查结果），供起草第五部分时检索。同一机关同一年度的报告重复索引时替换旧记录。"""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    files = report_files(paths)
    if not files:
        fail("没有找到可索引的报告文件")
    store = open_vector_store(data_dir, create=True)
    indexed, skipped = 0, []
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=stderr_console(), transient=True) as progress:
        task = progress.add_task("索引中", total=len(files))
        for path in files:
            progress.update(task, description=f"{path.parent.name}/{path.name}")
            try:
                progress.console.print(f"{path}：{index_one(store, path)}", highlight=False, soft_wrap=True)
                indexed += 1
            except pipeline.InputError as exc:
                skipped.append(path)
                progress.console.print(f"[yellow]跳过[/yellow] {path}：{exc.message}", highlight=False, soft_wrap=True)
            progress.advance(task)
    err.print(f"完成：索引 {indexed} 份，跳过 {len(skipped)} 份；向量库共 {store.count()} 份报告", highlight=False, soft_wrap=True)
    if not indexed:
        raise typer.Exit(EXIT_BAD_INPUT)


class DraftLLM(str, Enum):
    auto = "auto"
    off = "off"


def drafting_llm(mode: DraftLLM, data_dir: Path):
    """The configured endpoint only: a draft is worth a model's time when someone chose that model.
    The model, or None and why (in Chinese, for the draft's label)."""
    if mode is DraftLLM.off:
        return None, "--llm off"
    from service.llm.provider import factory
    from service.settings import Settings

    settings = Settings(data_dir=data_dir)
    made = factory(settings.llm_config(), settings.data_dir, bundled=False)
    model = made()
    return model, None if model else f"{made.why}；起草不会自行启动本地模型，可先运行 nianbao llm serve 再配置端点"


@app.command("draft")
def draft_command(
    file: Path = typer.Argument(..., help="本年度报告文件，或 gold.json 格式的 JSON"),
    previous: list[Path] | None = typer.Option(None, "--previous", help="本机关往年的报告（可多次给出）：同比数据与防雷同比对"),
    output: CheckFormat = typer.Option(CheckFormat.text, "--format", "-f", help="text 或 json"),
    data_dir: Path = typer.Option(default_data_dir(), "--data-dir", envvar="NIANBAO_DATA_DIR", help="数据目录（向量库所在）"),
    llm: DraftLLM = typer.Option(DraftLLM.auto, "--llm", help="auto：已配置大模型（NIANBAO_LLM_*）时由大模型起草，否则离线拼写；off：离线拼写"),
) -> None:
    """起草第五部分“存在的主要问题及改进情况”：数字均来自本年数据，并与往年文字比对防止雷同。本报告自身的第五部分不作为输入。"""
    from service.check import check
    from service.draft import NoFiguresError, draft, hide_own_section

    report = load_report(file)
    earlier = sorted((load_report(p) for p in previous or []), key=lambda r: -(r.meta.year or 0))
    last = next((r for r in earlier if report.meta.year and r.meta.year == report.meta.year - 1), None)
    store = open_vector_store(data_dir, create=False)
    if store is not None and not store.count():
        err.print("[yellow]提示：[/yellow]向量库为空，未检索往年第五部分；可先运行 nianbao index 存入往年报告",
                  highlight=False, soft_wrap=True)
    model, no_model = drafting_llm(llm, data_dir)
    try:
        result = draft(report, last, check(hide_own_section(report), last),
                       history=[r for r in earlier if r is not last], store=store, llm=model, no_llm=no_model)
    except NoFiguresError as exc:
        fail(exc.message)
    if output is CheckFormat.json:
        print(result.model_dump_json(indent=1))
        return
    from service.draft.view import print_draft

    print_draft(result, stdout_console())


@app.command("batch")
def batch_command(
    paths: list[Path] = typer.Argument(..., help="报告文件或目录（目录内递归查找）"),
    workers: int = typer.Option(os.cpu_count() or 1, "--workers", "-w",
                                help="本地进程数；设置 NIANBAO_BROKER_URL 时由 Celery worker 处理，此项不用"),
    resume: bool = typer.Option(False, "--resume", help="中断后继续：跳过输出目录中已有结果的文件（按内容哈希）"),
    out: Path = typer.Option(Path("batch-results"), "--out", help="输出目录：results.jsonl、fields.csv、findings.csv"),
    apart: list[str] = typer.Option([], "--apart", help="单独列出的机关名称：不与名称相近的机关合并作跨年度比对（可重复）"),
) -> None:
    """批量处理成千上万份报告：本机多进程，或设置 NIANBAO_BROKER_URL 时交给 Celery 集群。内容相同的文件只处理一次。"""
    from service import batch

    if workers < 1:
        fail("--workers 须为正整数")
    files = report_files(paths)
    if not files:
        fail("没有找到可处理的报告文件")
    try:
        items, skipped = batch.plan(files, out, resume)
        runner = batch_runner(workers)
        with batch_progress(len(items) + skipped, skipped) as on_record:
            batch.run(items, out, runner, on_record, apart)
    except batch.BatchError as exc:
        fail(exc.message)
    except KeyboardInterrupt:
        err.print(f"已中断：已完成的结果在 {out / batch.RESULTS}，加 --resume 继续", highlight=False, soft_wrap=True)
        raise typer.Exit(130) from None
    records = list(batch.read_results(out / batch.RESULTS))
    failed = sum(r["status"] == "failed" for r in records)
    err.print(f"完成：本次处理 {len(items)} 份，跳过 {skipped} 份（已完成或内容重复）；共 {len(records) - failed} 份成功，"
              f"{failed} 份失败，结果在 {out}/（{batch.RESULTS}、{batch.FIELDS_CSV}、{batch.FINDINGS_CSV}）",
              highlight=False, soft_wrap=True)


def batch_runner(workers: int):
    """Celery workers when NIANBAO_BROKER_URL is set (checked to answer first), else local processes."""
    from service.batch import ClusterRunner, LocalRunner
    from service.settings import Settings

    settings = Settings()
    if not settings.broker_url:
        return LocalRunner(workers)
    return ClusterRunner(reachable_cluster(settings))


def reachable_cluster(settings):
    """The Celery cluster the settings name, checked to answer; a Chinese message and exit 2 or 4 if not."""
    from service.jobs.cluster import BrokerUnavailable, Cluster, ClusterMisconfigured

    try:
        cluster = Cluster(settings)
        cluster.check()
    except ClusterMisconfigured as exc:
        fail(exc.message)
    except BrokerUnavailable as exc:
        fail(exc.message, EXIT_STORE_UNAVAILABLE)
    return cluster


def rate_column():
    """Reports per minute, over the last few seconds."""
    from rich.progress import ProgressColumn
    from rich.text import Text

    class RateColumn(ProgressColumn):
        def render(self, task) -> Text:
            speed = task.finished_speed or task.speed
            return Text(f"{speed * 60:.0f} 份/分" if speed else "— 份/分")

    return RateColumn()


@contextmanager
def batch_progress(total: int, done: int):
    """A progress bar with rate and ETA; yields the callback that counts a finished file."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), rate_column(),
               TimeElapsedColumn(), TextColumn("剩余"), TimeRemainingColumn())
    with Progress(*columns, console=stderr_console()) as progress:
        task = progress.add_task("批量处理", total=total, completed=done)
        yield lambda _record: progress.advance(task)


@app.command("worker")
def worker_command(
    concurrency: int = typer.Option(os.cpu_count() or 1, "--concurrency", "-c", help="进程数"),
    name: str | None = typer.Option(None, "--name", help="worker 名称，如 w1@%h；同一台机器上的多个 worker 须各不相同"),
) -> None:
    """启动 Celery worker（需设置 NIANBAO_BROKER_URL）：处理服务与 nianbao batch 派发的报告。"""
    from service.jobs.cluster import run_worker
    from service.settings import Settings

    if concurrency < 1:
        fail("--concurrency 须为正整数")
    settings = Settings()
    reachable_cluster(settings)
    run_worker(settings, concurrency, name)
