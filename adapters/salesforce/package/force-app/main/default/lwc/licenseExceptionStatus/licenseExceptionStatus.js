/*
 * Where a license exception stands, on the request's own record page and as a card of the requests of an account
 * or opportunity. Everything shown is what the connector wrote back onto the record; the component reads it
 * through Lightning Data Service (no Apex, no callout), so it refreshes when the connector's write-back lands.
 */
import { LightningElement, api, wire } from 'lwc';
import { getRecord, getFieldValue } from 'lightning/uiRecordApi';
import { getObjectInfo } from 'lightning/uiObjectInfoApi';
import { getRelatedListRecords } from 'lightning/uiRelatedListApi';
import REQUEST_OBJECT from '@salesforce/schema/License_Exception_Request__c';
import NAME from '@salesforce/schema/License_Exception_Request__c.Name';
import KEY from '@salesforce/schema/License_Exception_Request__c.Governance_Key__c';
import STATUS from '@salesforce/schema/License_Exception_Request__c.Governance_Status__c';
import TRACK from '@salesforce/schema/License_Exception_Request__c.Governance_Track__c';
import RISK_BAND from '@salesforce/schema/License_Exception_Request__c.Risk_Band__c';
import DECISION from '@salesforce/schema/License_Exception_Request__c.Decision__c';
import RATIONALE from '@salesforce/schema/License_Exception_Request__c.Decision_Rationale__c';
import BOUNDARIES from '@salesforce/schema/License_Exception_Request__c.Granted_Boundaries__c';
import EFFECTIVE from '@salesforce/schema/License_Exception_Request__c.Entitlement_Effective__c';
import EXPIRES from '@salesforce/schema/License_Exception_Request__c.Entitlement_Expires__c';
import MISSING from '@salesforce/schema/License_Exception_Request__c.Missing_Information__c';
import FIELDS_TO_FILL from '@salesforce/schema/License_Exception_Request__c.Missing_Fields__c';
import VOTES_WAITING from '@salesforce/schema/License_Exception_Request__c.Votes_Waiting__c';
import URL from '@salesforce/schema/License_Exception_Request__c.Governance_URL__c';

const REQUEST = REQUEST_OBJECT.objectApiName;
const FIELDS = [NAME, KEY, STATUS, TRACK, RISK_BAND, DECISION, RATIONALE, BOUNDARIES, EFFECTIVE, EXPIRES, MISSING,
    FIELDS_TO_FILL, VOTES_WAITING, URL];
const RELATED_FIELDS = [NAME, KEY, STATUS, DECISION, EXPIRES].map((f) => `${REQUEST}.${f.fieldApiName}`);
const RELATED_LIST = 'License_Exception_Requests__r';
const DAY_MS = 24 * 60 * 60 * 1000;
const EXPIRY_WARNING_DAYS = 30;

/** What each governance state means to a rep, and how loudly to say it. */
const STATES = {
    needs_info: { label: 'Needs information', theme: 'warning', icon: 'utility:warning' },
    in_review: { label: 'In review', theme: 'info', icon: 'utility:clock' },
    approved: { label: 'Approved', theme: 'success', icon: 'utility:success' },
    denied: { label: 'Denied', theme: 'error', icon: 'utility:error' },
    withdrawn: { label: 'Withdrawn', theme: 'offline', icon: 'utility:undo' },
    expired: { label: 'Expired', theme: 'offline', icon: 'utility:date_time' },
    revoked: { label: 'Revoked', theme: 'error', icon: 'utility:ban' }
};

/** "approved_with_conditions" -> "Approved with conditions" */
export function humanize(value) {
    if (!value) {
        return '';
    }
    const text = String(value).replace(/_/g, ' ').trim();
    return text.charAt(0).toUpperCase() + text.slice(1);
}

/** Whole days from today (local midnight) to an ISO date; negative once it has passed. */
export function daysUntil(isoDate, now = new Date()) {
    if (!isoDate) {
        return null;
    }
    const [year, month, day] = isoDate.split('-').map(Number);
    const target = Date.UTC(year, month - 1, day);
    const today = Date.UTC(now.getFullYear(), now.getMonth(), now.getDate());
    return Math.round((target - today) / DAY_MS);
}

/** "Account__r.Name" names the lookup Account__c on the record: that is the field to fill. */
export function fieldOnRecord(sourcePath) {
    const head = sourcePath.trim().split('.')[0];
    return head.endsWith('__r') ? `${head.slice(0, -3)}__c` : head;
}

export default class LicenseExceptionStatus extends LightningElement {
    @api recordId;
    @api objectApiName;

    record;
    related;
    objectInfo;
    error;
    saved = false;

    get onRequest() {
        return this.objectApiName === REQUEST;
    }

    get requestId() {
        return this.onRequest ? this.recordId : undefined;
    }

    get parentId() {
        return this.onRequest ? undefined : this.recordId;
    }

    @wire(getRecord, { recordId: '$requestId', fields: FIELDS })
    wiredRecord({ data, error }) {
        this.record = data;
        this.error = error;
    }

    @wire(getRelatedListRecords, {
        parentRecordId: '$parentId',
        relatedListId: RELATED_LIST,
        fields: RELATED_FIELDS,
        sortBy: [`${REQUEST}.LastModifiedDate`]
    })
    wiredRelated({ data, error }) {
        this.related = data;
        this.error = error;
    }

    @wire(getObjectInfo, { objectApiName: REQUEST_OBJECT })
    wiredObjectInfo({ data }) {
        this.objectInfo = data;
    }

    value(field) {
        return this.record ? getFieldValue(this.record, field) : null;
    }

    get loading() {
        return !this.error && (this.onRequest ? !this.record : !this.related);
    }

    get errorMessage() {
        if (!this.error) {
            return '';
        }
        const body = this.error.body;
        return (Array.isArray(body) ? body.map((b) => b.message).join(', ') : body && body.message) ||
            'The request could not be loaded.';
    }

    get status() {
        return this.value(STATUS);
    }

    get received() {
        return Boolean(this.status);
    }

    get state() {
        return STATES[this.status] || { label: humanize(this.status), theme: 'info', icon: 'utility:info' };
    }

    get stateClass() {
        return `slds-badge slds-theme_${this.state.theme}`;
    }

    get key() {
        return this.value(KEY);
    }

    get track() {
        return humanize(this.value(TRACK));
    }

    get riskBand() {
        return humanize(this.value(RISK_BAND));
    }

    get riskClass() {
        const band = (this.value(RISK_BAND) || '').toLowerCase();
        const theme = { low: 'success', medium: 'warning', high: 'error', critical: 'error' }[band] || 'shade';
        return `slds-badge slds-theme_${theme}`;
    }

    get needsInfo() {
        return this.status === 'needs_info';
    }

    get inReview() {
        return this.status === 'in_review';
    }

    get missingText() {
        return this.value(MISSING);
    }

    /** The fields to fill, each with its label, for the inline form. */
    get fieldsToFill() {
        const raw = this.value(FIELDS_TO_FILL) || '';
        const seen = new Set();
        const fields = this.objectInfo ? this.objectInfo.fields : {};
        return raw.split(',').map((s) => s.trim()).filter(Boolean).map(fieldOnRecord)
            .filter((name) => !seen.has(name) && seen.add(name))
            .map((name) => ({ name, label: (fields[name] && fields[name].label) || name }));
    }

    get hasFieldsToFill() {
        return this.needsInfo && this.fieldsToFill.length > 0;
    }

    handleSaved() {
        this.saved = true;
    }

    get votesWaiting() {
        const raw = this.value(VOTES_WAITING) || '';
        return raw.split(',').map((s) => s.trim()).filter(Boolean).map((role) => ({ role, label: humanize(role) }));
    }

    get hasVotesWaiting() {
        return this.inReview && this.votesWaiting.length > 0;
    }

    get awaitingChair() {
        return this.inReview && this.votesWaiting.length === 0;
    }

    get decision() {
        return humanize(this.value(DECISION));
    }

    get rationale() {
        return this.value(RATIONALE);
    }

    get boundaries() {
        const text = this.value(BOUNDARIES) || '';
        return text.split(';').map((s) => s.trim()).filter(Boolean).map((line, index) => ({ key: index, line }));
    }

    get hasBoundaries() {
        return this.status === 'approved' && this.boundaries.length > 0;
    }

    get effective() {
        return this.value(EFFECTIVE);
    }

    get expires() {
        return this.value(EXPIRES);
    }

    get expiryBadge() {
        const days = daysUntil(this.expires);
        if (days === null || !['approved', 'expired'].includes(this.status)) {
            return null;
        }
        if (days < 0 || this.status === 'expired') {
            return { label: `Expired ${this.expires}`, className: 'slds-badge slds-theme_offline' };
        }
        const label = days === 0 ? 'Expires today' : `Expires in ${days} day${days === 1 ? '' : 's'}`;
        const theme = days <= EXPIRY_WARNING_DAYS ? 'warning' : 'success';
        return { label, className: `slds-badge slds-theme_${theme}` };
    }

    get url() {
        return this.value(URL);
    }

    get requests() {
        const records = (this.related && this.related.records) || [];
        return records.map((rec) => {
            const get = (field) => (rec.fields[field.fieldApiName] ? rec.fields[field.fieldApiName].value : null);
            const status = get(STATUS);
            const state = STATES[status] || { label: status ? humanize(status) : 'Not yet received', theme: 'shade' };
            return {
                id: rec.id,
                name: get(NAME),
                key: get(KEY),
                stateLabel: state.label,
                stateClass: `slds-badge slds-theme_${state.theme}`,
                decision: humanize(get(DECISION)),
                expires: get(EXPIRES),
                href: `/lightning/r/${REQUEST}/${rec.id}/view`
            };
        });
    }

    get hasRequests() {
        return this.requests.length > 0;
    }

    get cardTitle() {
        return this.onRequest ? 'License exception' : `License exceptions (${this.requests.length})`;
    }
}
