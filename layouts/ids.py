"""Component ids shared by pages (layouts/) and their callbacks (dashboard/callbacks/)."""

# shell
URL = "url"
USER_BADGE = "user-badge"

# home
HOME_CARDS = "home-cards"
HOME_MAP = "home-map"
HOME_MAP_LEVEL = "home-map-level"
HOME_MAP_MEASURE = "home-map-measure"
HOME_SEARCH = "home-district-search"
HOME_PROVENANCE = "home-provenance"
HOME_NAV = "home-nav"

# district
DISTRICT_CODE = "district-code"
DISTRICT_CARDS = "district-cards"
DISTRICT_PROVENANCE = "district-provenance"
DISTRICT_DOWNLOAD = "district-download"
DISTRICT_SECTIONS = (
    "pmt",
    "beneficiaries",
    "disability",
    "education",
    "cct",
    "dwelling",
    "assets",
    "tehsils",
)

# explorer
EX_URL = "ex-url"
EX_CUBE = "ex-cube"
EX_MEASURES = "ex-measures"
EX_DIMS = "ex-dims"
EX_ACROSS = "ex-across"
EX_LEVEL = "ex-level"
EX_PROVINCE = "ex-province"
EX_DISTRICT = "ex-district"
EX_TEHSIL = "ex-tehsil"
EX_FILTERS = "ex-filters"
EX_CHART = "ex-chart"
EX_TOTALS = "ex-totals"
EX_GRAPH = "ex-graph"
EX_TABLE = "ex-table"
EX_MESSAGE = "ex-message"
EX_PROVENANCE = "ex-provenance"
EX_URL_STATE = "ex-url-state"
EX_QUICK = "ex-quick"
EX_EXPORT_CSV = "ex-export-csv"
EX_EXPORT_XLSX = "ex-export-xlsx"
EX_DOWNLOAD = "ex-download"
EX_PROGRESS = "ex-progress"
EX_VIEW_NAME = "ex-view-name"
EX_SAVE_VIEW = "ex-save-view"
EX_SAVED = "ex-saved-views"

# admin
AD_USERS = "admin-users"
AD_AUDIT = "admin-audit"
AD_VERIFY = "admin-verify"
AD_VERIFY_OUT = "admin-verify-out"
AD_STATEMENT_ORG = "admin-statement-org"
AD_STATEMENT_MONTH = "admin-statement-month"
AD_STATEMENT = "admin-statement"
AD_NEW_USER = "admin-new-user"
AD_NEW_USER_OUT = "admin-new-user-out"
AD_FEEDBACK = "admin-feedback"

# reports
RP_SEARCH = "rp-search"
RP_TOPIC = "rp-topic"
RP_GEO = "rp-geo"
RP_LIST = "rp-list"
RP_SLUG = "rp-slug"
RP_PARAM = "rp-param"
RP_HEADER = "rp-header"
RP_PANELS = "rp-panels"
RP_PDF = "rp-pdf"
RP_DOWNLOAD = "rp-download"
RA_LIST = "ra-list"
RA_PUBLIC = "ra-public"
RA_DESIGN = "ra-design"
RA_PICK = "ra-pick"
RA_EXPLORER_LINK = "ra-explorer-link"
RA_ADD_PANEL = "ra-add-panel"
RA_PREVIEW = "ra-preview"
RA_SAVE = "ra-save"
RA_SUBMIT = "ra-submit"
RA_APPROVE = "ra-approve"
RA_REJECT = "ra-reject"
RA_ROLLBACK = "ra-rollback"
RA_VERSION = "ra-version"
RA_COMMENT = "ra-comment"
RA_MESSAGE = "ra-message"
RA_HISTORY = "ra-history"
RA_PREVIEW_OUT = "ra-preview-out"
RA_REFRESH = "ra-refresh"

# records
RC_TABS = "rc-tabs"
RC_CNIC = "rc-cnic"
RC_GO_CNIC = "rc-go-cnic"
RC_DISTRICT = "rc-district"
RC_TEHSIL = "rc-tehsil"
RC_UC = "rc-uc"
RC_FILTERS = "rc-filters"
RC_GO_ADDRESS = "rc-go-address"
RC_PMT_TEHSIL = "rc-pmt-tehsil"
RC_PMT_UC = "rc-pmt-uc"
RC_PMT_MIN = "rc-pmt-min"
RC_PMT_MAX = "rc-pmt-max"
RC_GO_PMT = "rc-go-pmt"
RC_SEARCH = "rc-search"
RC_PREV = "rc-prev"
RC_NEXT = "rc-next"
RC_STATUS = "rc-status"
RC_GRID = "rc-grid"
RC_DETAIL = "rc-detail"
RC_MEMBERS = "rc-members"
RC_EXPORT = "rc-export"
RC_DOWNLOAD = "rc-download"
