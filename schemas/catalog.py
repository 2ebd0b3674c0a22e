"""Every payload the CLI or the API emits or accepts, by the name ``xinfang schema NAME`` exports it under.

Each entry is the payload's type (a Struct, a tagged union, or a list of one) and a Chinese line
saying what it is and where it appears. Tests check that each exported schema is valid JSON
Schema and that what the CLI and the API really emit validates against it.
"""

from __future__ import annotations

from typing import Any

from schemas.commands import AnyCommand, CaseCommand
from schemas.events import AnyEvent
from schemas.identity import ErasureAnswer, IdentityAnswer, IdentityWritten, PetitionerIdentity
from schemas.imports import ImportReport
from schemas.integrity import VerifyReport, WitnessResult
from schemas.problems import CliError, Problem, ProblemDoc
from schemas.proofs import (
    CaseProof,
    CheckpointAnswer,
    ConsistencyProof,
    InclusionProof,
    Leaf,
    StoredCheckpoint,
    VerifierKeyAnswer,
)
from schemas.reports import (
    AccountabilityReport,
    Appraisal,
    AppraisalRequest,
    AppraisalWritten,
    BoardReport,
    CheckResult,
    IndicatorReport,
)
from schemas.rules import AwardReport, RuleSetInfo
from schemas.tokens import IssuedToken, Me, RevokedTokens, TokenInfo
from schemas.views import (
    CaseDetail,
    CasePage,
    CaseView,
    CommandResult,
    DemoSummary,
    ExportedEvent,
    FeedEvent,
    LogSummary,
    OfficialView,
    OverdueBoard,
    ProjectionsAnswer,
    RebuildAnswer,
    SetupAnswer,
    TimelineEntry,
    UnitView,
)

__all__ = ["CATALOG"]

CATALOG: dict[str, tuple[Any, str]] = {
    # 写入
    "commands": (AnyCommand, "全部命令（按 type 区分）：xinfang apply 的每一行、POST /api/commands、/api/imports 的每一行"),
    "case-commands": (CaseCommand, "针对已登记案件的命令：POST /api/cases/{编号}/commands"),
    "command-result": (CommandResult, "命令执行结果（重复提交时 repeated 为 true）"),
    "import-report": (ImportReport, "批量导入结果：xinfang apply --json、POST /api/imports"),
    "identity": (PetitionerIdentity, "信访人身份信息：xinfang petitioner put 的文件、PUT /api/cases/{编号}/petitioners/{信访人}"),
    "identity-answer": (IdentityAnswer, "信访人身份查阅结果（每次查阅记入账本）"),
    "identity-written": (IdentityWritten, "信访人身份已加密保存：记入账本的存储摘要（不含内容）"),
    "erasure-answer": (ErasureAnswer, "销毁信访人身份密钥的结果"),
    # 事件与读取
    "events": (AnyEvent, "全部事件（按 type 区分）"),
    "export-line": (ExportedEvent, "xinfang export 的一行：事件信封加日志序号 seq"),
    "case-view": (CaseView, "案件现状及各项期限：GET /api/cases/{编号}"),
    "timeline": (list[TimelineEntry], "案件时间线：GET /api/cases/{编号}/timeline"),
    "case-detail": (CaseDetail, "案件现状加时间线：xinfang case show --json"),
    "case-page": (CasePage, "案件查询的一页：GET /api/cases"),
    "overdue-board": (OverdueBoard, "超期督办看板：GET /api/overdue"),
    "units": (list[UnitView], "单位列表：GET /api/units（单个单位为其中一项）"),
    "officials": (list[OfficialView], "干部列表：GET /api/officials（单个干部为其中一项）"),
    "feed-event": (FeedEvent, "新事件推送（SSE）每条消息的 data：GET /api/feed"),
    "summary": (LogSummary, "账本概况：xinfang summary --json"),
    # 防篡改
    "leaf": (Leaf, "Merkle 叶子：证明中 leaf 字段（十六进制）解码后的规范 JSON"),
    "inclusion-proof": (InclusionProof, "包含证明：xinfang proof --seq、GET /api/integrity/inclusion"),
    "consistency-proof": (ConsistencyProof, "一致性证明：xinfang proof --from、GET /api/integrity/consistency"),
    "case-proof": (CaseProof, "整件案件的证明：xinfang proof --case、GET /api/cases/{编号}/proof"),
    "checkpoint": (CheckpointAnswer, "新签发的检查点：xinfang checkpoint --json"),
    "verifier-key": (VerifierKeyAnswer, "检查点验证公钥：xinfang checkpoint --verifier-key --json"),
    "checkpoints": (list[StoredCheckpoint], "已签发的检查点：xinfang checkpoint --list --json"),
    "verify-report": (VerifyReport, "完整校验结果：xinfang verify --json"),
    "witness-result": (WitnessResult, "见证结果：xinfang witness --json"),
    # 报表与考核
    "board-report": (BoardReport, "案件看板报表：xinfang report board、GET /api/reports/board"),
    "accountability-report": (AccountabilityReport, "问责报表：xinfang report accountability、GET /api/reports/accountability"),
    "indicator-report": (IndicatorReport, "考核指标报表：xinfang report indicators、GET /api/reports/indicators"),
    "award-report": (AwardReport, "“三无”等奖励评定：xinfang awards --json、GET /api/reports/awards"),
    "appraisal": (Appraisal, "签名的考核文件：xinfang appraise --out、POST /api/appraisals"),
    "appraisal-request": (AppraisalRequest, "考核请求：POST /api/appraisals 的请求体"),
    "appraisal-check": (CheckResult, "考核文件复核结果：xinfang appraise --check --json、POST /api/appraisals/check"),
    "appraisal-written": (AppraisalWritten, "写出考核文件后的回执：xinfang appraise --out --json"),
    "plugins": (RuleSetInfo, "生效的规则插件和规则集指纹：xinfang plugins --json"),
    # 令牌、系统与错误
    "tokens": (list[TokenInfo], "已签发的令牌（不含明文）：xinfang token list --json"),
    "issued-token": (IssuedToken, "新签发的令牌（明文仅此一次）：xinfang token create --json；serve --demo-tokens 为其列表"),
    "revoked-tokens": (RevokedTokens, "吊销的令牌数：xinfang token revoke --json"),
    "me": (Me, "当前令牌对应的操作人：GET /api/me"),
    "problem": (Problem, "接口错误（RFC 9457 问题详情）"),
    "problem-types": (list[ProblemDoc], "问题类型说明：GET /problems（单个为 GET /problems/{类型}）"),
    "cli-error": (CliError, "命令行出错时的 JSON（--json）"),
    "init": (SetupAnswer, "建立账本：xinfang init --json"),
    "demo": (DemoSummary, "生成演示账本：xinfang demo --json"),
    "projections": (ProjectionsAnswer, "投影位置：xinfang projections --json"),
    "rebuild": (RebuildAnswer, "重建投影：xinfang rebuild --json"),
}
"""Name → (payload type, Chinese description), in the order ``xinfang schema`` lists them."""
