package servicenow

// Out-of-box state models. Admins can change the choices of a state field;
// TicketSystem.AllowedStatuses then overrides the judgement.

// taskStates are the task table's states, which sc_req_item and sc_task
// keep (and change_task, without 7).
var taskStates = stateModel{
	labels: map[string]string{
		"-5": "Pending", "1": "Open", "2": "Work in Progress",
		"3": "Closed Complete", "4": "Closed Incomplete", "7": "Closed Skipped",
	},
	closed: set("3", "4", "7"),
}

// stateModels maps a table (sys_class_name) to its states.
var stateModels = map[string]stateModel{
	"incident": {
		labels: map[string]string{
			"1": "New", "2": "In Progress", "3": "On Hold",
			"6": "Resolved", "7": "Closed", "8": "Canceled",
		},
		closed: set("6", "7", "8"), // a Resolved incident is still active
	},
	"change_request": {
		labels: map[string]string{
			"-5": "New", "-4": "Assess", "-3": "Authorize", "-2": "Scheduled",
			"-1": "Implement", "0": "Review", "3": "Closed", "4": "Canceled",
		},
		closed: set("3", "4"),
	},
	"change_task": {
		labels: map[string]string{
			"-5": "Pending", "1": "Open", "2": "In Progress", "3": "Closed", "4": "Canceled",
		},
		closed: set("3", "4"),
	},
	"sc_req_item": taskStates,
	"sc_task":     taskStates,
	"task":        taskStates,
}

type stateModel struct {
	labels map[string]string   // value -> out-of-box label
	closed map[string]struct{} // resolved, closed and cancelled values
}

func set(vs ...string) map[string]struct{} {
	m := make(map[string]struct{}, len(vs))
	for _, v := range vs {
		m[v] = struct{}{}
	}
	return m
}

// closedState reports whether state is a resolved, closed or cancelled
// state of table; false for tables whose states are not known here (their
// active flag decides).
func closedState(table, state string) bool {
	_, closed := stateModels[table].closed[state]
	return closed
}

// stateLabel is the out-of-box label of state in table, for an answer that
// carried the value only; "" when not known.
func stateLabel(table, state string) string {
	return stateModels[table].labels[state]
}
