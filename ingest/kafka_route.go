package ingest

import (
	"regexp"
	"sort"
)

// Which stream consumes a topic: a stream names one topic, or a regular
// expression matching any number of them, some created after floe starts.

// subscription returns what the client consumes: the streams' topics and,
// when any stream has a TopicRegex, every stream as an anchored regular
// expression (regex is then true: franz-go treats all of them as regexes).
func (k *Kafka) subscription() (topics []string, regex bool) {
	for _, s := range k.streams {
		regex = regex || s.re != nil
	}
	for _, s := range k.streams {
		switch {
		case !regex:
			topics = append(topics, s.cfg.Topic)
		case s.re != nil:
			topics = append(topics, s.cfg.TopicRegex)
		default:
			topics = append(topics, "^"+regexp.QuoteMeta(s.cfg.Topic)+"$")
		}
	}
	sort.Strings(topics)
	return topics, regex
}

// route returns the stream that consumes topic (nil: none): the stream
// naming it, else the first whose TopicRegex matches it. Called with k.mu
// held; the answer is cached.
func (k *Kafka) route(topic string) *kstream {
	if s, ok := k.byTopic[topic]; ok {
		return s
	}
	var found *kstream
	for _, s := range k.streams {
		if s.re == nil && s.cfg.Topic == topic {
			found = s
			break
		}
	}
	if found == nil {
		for _, s := range k.streams {
			if s.re != nil && s.re.MatchString(topic) {
				found = s
				break
			}
		}
	}
	k.byTopic[topic] = found
	if found != nil {
		found.topics[topic] = true
		if found.re != nil {
			k.log.Info("kafka: topic matches a stream's topic_regex", "topic", topic,
				"topic_regex", found.cfg.TopicRegex, "table", found.cfg.Namespace+"."+found.cfg.Table)
		}
	}
	return found
}
