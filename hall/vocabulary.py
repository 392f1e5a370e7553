"""The hall's fixed words, defined once: roles, ticket statuses, window states.

Every module, face and page takes them from here (pages get them from the server in
their snapshot or template), so a new status or role is added in one place.
"""

from __future__ import annotations

# --- staff roles ---------------------------------------------------------------------
CLERK, SUPERVISOR, ADMIN = "clerk", "supervisor", "admin"
STAFF_ROLES = (CLERK, SUPERVISOR, ADMIN)
MANAGER_ROLES = (SUPERVISOR, ADMIN)  # see figures, follow up ratings, force sign-outs
ADMIN_ROLES = (ADMIN,)
ROLE_CN = {CLERK: "窗口人员", SUPERVISOR: "主管", ADMIN: "管理员"}

# --- tickets -------------------------------------------------------------------------
TICKET_STATUSES = ("waiting", "called", "serving", "parked", "done", "no_show", "cancelled")
STATUS_CN = {
    "waiting": "等候中",
    "called": "已叫号",
    "serving": "办理中",
    "parked": "挂起",
    "done": "已办结",
    "no_show": "过号",
    "cancelled": "已取消",
}
ACTIVE_AT_WINDOW = ("called", "serving")  # a window's current ticket
PARKED = "parked"  # set aside at its window (挂起) until the clerk resumes it
FINAL_STATUSES = ("done", "cancelled")

# --- windows -------------------------------------------------------------------------
WINDOW_STATES = ("open", "paused", "closed")
WINDOW_STATE_CN = {"open": "服务中", "paused": "暂停服务", "closed": "未开窗"}

# --- ratings (好差评) ------------------------------------------------------------------
SCORES_CN = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}
BAD_SCORES = (1, 2)  # 差评: a reason is required, a follow-up opens
